package image

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The user the image runs as, as the chart's securityContext names it (runAsUser 65532). The
// name and numbers are distroless's, so tooling that knows "nonroot" recognizes it.
const (
	// UID is the user's and its group's number.
	UID = 65532
	// Home is the user's home directory, and the image's working directory.
	Home = "/home/nonroot"
	// CAFile is where Go's crypto/x509 looks first for the system roots on Linux.
	CAFile = "/etc/ssl/certs/ca-certificates.crt"
)

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// filesystemLayer is the layer every platform shares: /etc/passwd and /etc/group naming the
// non-root user, its home, a world-writable /tmp, and the CA bundle.
func filesystemLayer(created time.Time) (v1.Layer, error) {
	cas, _, err := caBundle()
	if err != nil {
		return nil, err
	}
	es := dirs("etc/", "etc/ssl/", "etc/ssl/certs/", "home/")
	es = append(es,
		entry{path: "etc/group", mode: 0o644, body: []byte(group)},
		entry{path: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		entry{path: CAFile[1:], mode: 0o644, body: cas},
		entry{path: Home[1:] + "/", mode: 0o700, uid: UID, gid: UID, dir: true},
		entry{path: "tmp/", mode: 0o1777, dir: true},
	)
	return newLayer(es, created)
}
