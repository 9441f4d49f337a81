package verify

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DockerHub is the canonical name of Docker Hub's registry, as go-containerregistry writes it.
const DockerHub = name.DefaultRegistry

// dockerHubNames are every name Docker Hub's registry answers to.
var dockerHubNames = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true}

// pathComponent is one component of a repository path, as the distribution reference grammar
// (and so the kubelet) accepts it: no ".", "..", or leading or trailing separator.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// CanonicalRegistry returns the one spelling Portcullis uses for a registry host: lower case,
// without a trailing dot, without the default ports :443 and :80 (however many leading zeros),
// an IP literal in its shortest form, and Docker Hub as index.docker.io. Every way of writing
// the same registry gives the same answer, so policies, caches and reports see one registry.
// A host that is not ASCII is refused: IDNA spellings would be another way in.
func CanonicalRegistry(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return "", fmt.Errorf("registry %q is not ASCII: write an internationalized host name in its punycode (xn--) form", host)
		}
	}
	h, port, err := splitHostPort(host)
	if err != nil {
		return "", fmt.Errorf("registry %q: %w", host, err)
	}
	if port == "443" || port == "80" {
		port = ""
	}
	if dockerHubNames[h] {
		h = DockerHub
	}
	if port != "" {
		return h + ":" + port, nil
	}
	return h, nil
}

// splitHostPort returns the canonical host and port (without leading zeros) of host[:port].
func splitHostPort(s string) (host, port string, err error) {
	host, hasPort := s, false
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", fmt.Errorf("unterminated IPv6 literal")
		}
		host = s[1:end]
		switch rest := s[end+1:]; {
		case rest == "":
		case strings.HasPrefix(rest, ":"):
			port, hasPort = rest[1:], true
		default:
			return "", "", fmt.Errorf("unexpected %q after the IPv6 literal", rest)
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return "", "", fmt.Errorf("bad IPv6 literal: %w", err)
		}
		if addr = addr.Unmap(); addr.Is6() {
			host = "[" + addr.String() + "]"
		} else {
			host = addr.String()
		}
	} else {
		if i := strings.LastIndex(s, ":"); i >= 0 {
			host, port, hasPort = s[:i], s[i+1:], true
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if host == "" || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
			return "", "", fmt.Errorf("empty label in the host name")
		}
	}
	if hasPort {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return "", "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
		port = strconv.FormatUint(n, 10)
	}
	return host, port, nil
}

// CanonicalRepository returns repo with its registry canonical (CanonicalRegistry) and, on Docker
// Hub, an official image's implicit library/ written out. It refuses a path that the
// distribution reference grammar, and so the kubelet, would refuse, such as one with a "."
// or ".." component, so no glob can be stepped around with one.
func CanonicalRepository(repo name.Repository) (name.Repository, error) {
	reg, err := CanonicalRegistry(repo.RegistryStr())
	if err != nil {
		return name.Repository{}, err
	}
	path := repo.RepositoryStr()
	for _, c := range strings.Split(path, "/") {
		if !pathComponent.MatchString(c) {
			return name.Repository{}, fmt.Errorf("repository %q: path component %q is not lower-case letters and digits joined by single separators (., _, __, -)", path, c)
		}
	}
	if reg == DockerHub && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	out, err := name.NewRepository(reg + "/" + path)
	if err != nil {
		return name.Repository{}, fmt.Errorf("repository %s/%s: %w", reg, path, err)
	}
	return out, nil
}
