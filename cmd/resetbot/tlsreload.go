package main

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves RESETBOT_TLS_CERT_FILE and RESETBOT_TLS_KEY_FILE, and picks up new ones when
// either file changes (a renewal by certbot or acme.sh, a Kubernetes secret update) without a
// restart. A pair that no longer loads (the certificate renewed before its key, say) is logged and
// the previous one kept, so a half-done renewal never takes HTTPS down.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	// every is the least time between two looks at the files; handshakes in between use the
	// certificate in hand.
	every time.Duration
	now   func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     fileStamp
	lookedAt  time.Time
	lastError string
}

type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// newCertReloader loads the pair once; a missing file or a key that does not match the certificate
// is an error, so serve does not start.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, every: 10 * time.Second, now: time.Now}
	stamp, _ := r.stat()
	cert, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert, r.stamp, r.lookedAt = &cert, stamp, r.now()
	return r, nil
}

func (r *certReloader) stat() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// GetCertificate is tls.Config's hook: the current certificate, reloaded first if the files
// changed since the last look.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.lookedAt) >= r.every {
		r.lookedAt = now
		r.reloadIfChanged()
	}
	return r.cert, nil
}

func (r *certReloader) reloadIfChanged() {
	stamp, err := r.stat()
	if err != nil || stamp == r.stamp {
		return // a file briefly missing mid-renewal: keep serving the one in hand
	}
	cert, err := loadKeyPair(r.certFile, r.keyFile)
	if err != nil {
		if err.Error() != r.lastError {
			r.log.Error("TLS: the changed certificate files do not load; still serving the previous certificate", "err", err)
			r.lastError = err.Error()
		}
		return
	}
	r.cert, r.stamp, r.lastError = &cert, stamp, ""
	attrs := []any{"cert", r.certFile}
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
		attrs = append(attrs, "subject", leaf.Subject.CommonName, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	r.log.Info("TLS: certificate reloaded", attrs...)
}
