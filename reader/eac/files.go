package eac

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A terminal folder holds the desk's EAC credentials: dv.cvcert and is.cvcert (raw CV
// certificates, 7F21) and is-key.pem (the inspection system's PKCS #8 EC private key).
const (
	FileDV    = "dv.cvcert"
	FileIS    = "is.cvcert"
	FileISKey = "is-key.pem"
)

// LoadTerminal reads a terminal folder.
func LoadTerminal(dir string) (*Terminal, error) {
	var chain []*Cert
	for _, name := range []string{FileDV, FileIS} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("terminal certificates: %w", err)
		}
		c, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("terminal certificates: %s: %w", name, err)
		}
		chain = append(chain, c)
	}
	kb, err := os.ReadFile(filepath.Join(dir, FileISKey))
	if err != nil {
		return nil, fmt.Errorf("terminal key: %w", err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, errors.New("terminal key: not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("terminal key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("terminal key: not an EC key")
	}
	return &Terminal{Chain: chain, Key: ek}, nil
}

// SaveTerminal writes a terminal folder.
func SaveTerminal(dir string, t *Terminal) error {
	if len(t.Chain) != 2 {
		return errors.New("terminal: want a DV and an IS certificate")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(t.Key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileDV), t.Chain[0].Raw(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileIS), t.Chain[1].Raw(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, FileISKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}
