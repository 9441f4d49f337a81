package trust

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// httpFetcher downloads TUF metadata and targets with a deadline per file and no retries: an
// unreachable mirror must fail in seconds, and the next refresh is the retry.
type httpFetcher struct{ client *http.Client }

var _ fetcher.Fetcher = httpFetcher{}

func newHTTPFetcher(timeout time.Duration, cas *x509.CertPool) httpFetcher {
	dialer := &net.Dialer{Timeout: timeout}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cas != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: cas, MinVersion: tls.VersionTLS12}
	}
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = timeout
	tr.ResponseHeaderTimeout = timeout
	return httpFetcher{client: &http.Client{Timeout: timeout, Transport: tr}}
}

// DownloadFile reads at most maxLength bytes of url.
func (f httpFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	res, err := f.client.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: url}
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxLength+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than %d bytes", url, maxLength)}
	}
	return data, nil
}

// filesFetcher serves a serialized TUF repository (path relative to its root -> bytes) as if
// it were a mirror at base.
type filesFetcher struct {
	base  string
	files map[string][]byte
}

var _ fetcher.Fetcher = filesFetcher{}

// DownloadFile answers a path of the repository, or a 404 as a mirror would.
func (f filesFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	data, ok := f.files[strings.TrimPrefix(strings.TrimPrefix(url, f.base), "/")]
	if !ok {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: url}
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than %d bytes", url, maxLength)}
	}
	return data, nil
}
