package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// anonymous is the credential ID of a session that presents no credentials to a registry.
const anonymous = "anonymous"

// CredentialID identifies the credentials this session presents to reg: "anonymous", or a hash
// of what they authorize (a rotated secret is a new ID). Every cache entry that a credential
// can change is keyed by it, so requests share an entry only when they authenticate to the
// registry the same way: one without credentials can neither read what another's credentials
// resolved nor leave a failure that denies them. Each registry is resolved once a session.
func (s *Session) CredentialID(reg name.Registry) (string, error) {
	s.credMu.Lock()
	defer s.credMu.Unlock()
	if id, ok := s.creds[reg.RegistryStr()]; ok {
		return id, nil
	}
	id, err := credentialID(s, reg)
	if err != nil {
		return "", fmt.Errorf("reading the credentials for registry %s: %w", reg.RegistryStr(), err)
	}
	if s.creds == nil {
		s.creds = map[string]string{}
	}
	s.creds[reg.RegistryStr()] = id
	return id, nil
}

func credentialID(s *Session, reg name.Registry) (string, error) {
	auth, err := authn.Resolve(s.ctx, s.kc, reg)
	if err != nil {
		return "", err
	}
	if auth == authn.Anonymous {
		return anonymous, nil
	}
	cfg, err := authn.Authorization(s.ctx, auth)
	if err != nil {
		return "", err
	}
	if *cfg == (authn.AuthConfig{}) {
		return anonymous, nil
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// credentialKey prefixes key with the credential ID this session presents to reg.
func (s *Session) credentialKey(reg name.Registry, key string) (string, error) {
	id, err := s.CredentialID(reg)
	if err != nil {
		return "", err
	}
	return id + "|" + key, nil
}
