package gui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDebianPackageInstallsAndStarts builds the .deb with build/package from freshly built
// binaries, installs it with dpkg -i (root, as on the CI machine and the desk), checks what it
// put in place, starts the installed window under Xvfb to its login screen, and removes it again.
func TestDebianPackageInstallsAndStarts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("dpkg -i needs root (CI and the development machines run as root)")
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "enrolldesk").CombinedOutput(); err == nil && strings.Contains(string(out), "install ok installed") {
		t.Fatal("an enrolldesk package is already installed on this machine; remove it first (dpkg -r enrolldesk)")
	}
	root := repoRoot(t)
	bin := t.TempDir()
	gui := buildApp(t)
	data, err := os.ReadFile(gui)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "enrolldesk-gui"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	cli := exec.Command("go", "build", "-o", filepath.Join(bin, "enrolldesk"), "./cmd/enrolldesk")
	cli.Dir = root
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("build CLI: %v\n%s", err, out)
	}
	pkg := exec.Command("build/package")
	pkg.Dir = root
	pkg.Env = append(os.Environ(), "BIN="+bin, "VERSION=0.0.0-test")
	out, err := pkg.CombinedOutput()
	if err != nil {
		t.Fatalf("build/package: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "package: "))
	if !filepath.IsAbs(deb) {
		deb = filepath.Join(root, deb)
	}
	contents, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v", err)
	}
	for _, want := range []string{"./usr/bin/enrolldesk-gui", "./usr/bin/enrolldesk", "./usr/share/applications/enrolldesk.desktop",
		"./usr/share/icons/hicolor/256x256/apps/enrolldesk.png", "./lib/udev/rules.d/60-enrolldesk.rules"} {
		if !strings.Contains(string(contents), want) {
			t.Errorf("package lacks %s", want)
		}
	}
	for _, never := range []string{".dat", "models/"} {
		if strings.Contains(string(contents), never) {
			t.Errorf("package ships model data (%s)", never)
		}
	}
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "-r", "enrolldesk").CombinedOutput(); err != nil {
			t.Errorf("dpkg -r: %v\n%s", err, out)
		}
		_ = os.Remove(deb)
	})
	if out, err := exec.Command("getent", "group", "enrolldesk").Output(); err != nil || len(out) == 0 {
		t.Errorf("postinst did not create the enrolldesk group: %v", err)
	}
	if err := exec.Command("desktop-file-validate", "/usr/share/applications/enrolldesk.desktop").Run(); err != nil {
		if _, lookErr := exec.LookPath("desktop-file-validate"); lookErr == nil {
			t.Errorf("desktop entry invalid: %v", err)
		}
	}
	x := startXvfb(t)
	_, took, screen, _ := launch(t, "/usr/bin/enrolldesk-gui", x.display, provisionedDataDir(t), 60*time.Second)
	if screen != "login" {
		t.Fatalf("installed app opened on %q, want login", screen)
	}
	t.Logf("installed app: login screen ready %s after exec", took.Round(time.Millisecond))
}
