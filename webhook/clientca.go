package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// requireClientCert returns the TLS option that makes the webhook server accept only
// connections presenting a certificate signed by a CA in the PEM file at path: the API server's,
// as its AdmissionConfiguration presents it. The file is read once, at start.
func requireClientCert(path string) (func(*tls.Config), error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the webhook client CA %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading the webhook client CA %s: no PEM certificate in it", path)
	}
	return func(c *tls.Config) {
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}, nil
}
