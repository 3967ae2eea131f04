// Package config resolves where the desk keeps its data and reads settings from the environment.
package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// RegistryFile, in the data directory, holds the desk's registry enrollment (hqsync.Enrollment,
// written by `enrolldesk register`); its presence switches the outbox uploader on.
const RegistryFile = "registry.cbor"

// EnvDataDir names the environment variable that overrides the data directory.
const EnvDataDir = "ENROLLDESK_DATA"

// DataDir returns the desk's data directory: the flag value if set, else $ENROLLDESK_DATA, else
// $XDG_DATA_HOME/enrolldesk, else ~/.local/share/enrolldesk (XDG Base Directory spec defaults).
func DataDir(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	if v := os.Getenv(EnvDataDir); v != "" {
		return filepath.Abs(v)
	}
	if v := os.Getenv("XDG_DATA_HOME"); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "enrolldesk"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("data directory: no $%s, $XDG_DATA_HOME or home directory: %w", EnvDataDir, err)
	}
	return filepath.Join(home, ".local", "share", "enrolldesk"), nil
}
