//go:build dist

// Package dist checks kubectl-rktsched's release as `make dist` writes it (bin/dist/) the way
// its users meet it: checksums.txt as sha256sum -c reads it, each archive as tar reads it, each
// binary as Go's build info describes it, and the krew manifest as krew reads it: its own
// validation (validate-krew-manifest) and `krew install --manifest --archive` of every
// platform. It runs in `make test` through `make dist-check`, which passes where everything is.
package dist

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var repoRoot = filepath.Join("..", "..")

type platform struct{ os, arch string }

// platforms are the releases: linux, darwin and windows on amd64 and arm64, or the ones
// RKTSCHED_DIST_PLATFORMS lists (make dist-check passes DIST_PLATFORMS), sorted.
var platforms = func() []platform {
	list := os.Getenv("RKTSCHED_DIST_PLATFORMS")
	if list == "" {
		list = "darwin/amd64 darwin/arm64 linux/amd64 linux/arm64 windows/amd64 windows/arm64"
	}
	var ps []platform
	for _, p := range strings.Fields(list) {
		goos, goarch, _ := strings.Cut(p, "/")
		ps = append(ps, platform{goos, goarch})
	}
	slices.SortFunc(ps, func(a, b platform) int { return strings.Compare(a.os+"/"+a.arch, b.os+"/"+b.arch) })
	return ps
}()

// release is what the test reads from bin/dist/ and the environment make sets.
type release struct {
	dir, bin, version string
	epoch             time.Time
	manifest          string
}

func setUp(t *testing.T) release {
	t.Helper()
	r := release{dir: os.Getenv("RKTSCHED_DIST"), bin: os.Getenv("RKTSCHED_BIN"), version: os.Getenv("RKTSCHED_VERSION")}
	if r.dir == "" {
		r.dir = filepath.Join(repoRoot, "bin", "dist")
	}
	if r.bin == "" {
		r.bin = filepath.Join(repoRoot, "bin")
	}
	if r.version == "" {
		t.Fatal("RKTSCHED_VERSION is not set: make dist-check sets it to the VERSION make dist stamped")
	}
	epoch, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
	if err != nil {
		t.Fatalf("SOURCE_DATE_EPOCH: %v (make dist-check sets it)", err)
	}
	r.epoch = time.Unix(epoch, 0)
	r.manifest = filepath.Join(r.dir, "plugins", "rktsched.yaml")
	return r
}

func archiveName(version, goos, goarch string) string {
	return fmt.Sprintf("kubectl-rktsched_%s_%s_%s.tar.gz", version, goos, goarch)
}

func binName(goos string) string {
	if goos == "windows" {
		return "kubectl-rktsched.exe"
	}
	return "kubectl-rktsched"
}

// TestChecksums: bin/dist/ holds the six archives, checksums.txt and the manifest, nothing
// else; checksums.txt lists every archive, sorted, with its sha256, as sha256sum writes it.
func TestChecksums(t *testing.T) {
	r := setUp(t)
	var want, wantFiles []string
	for _, p := range platforms {
		want = append(want, archiveName(r.version, p.os, p.arch))
	}
	slices.Sort(want)
	wantFiles = append(slices.Clone(want), "checksums.txt", "plugins/rktsched.yaml")
	slices.Sort(wantFiles)
	var files []string
	err := filepath.WalkDir(r.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(r.dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files in %s (-want +got):\n%s", r.dir, diff)
	}

	sums := readChecksums(t, r.dir)
	var names []string
	for _, s := range sums {
		names = append(names, s.name)
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("checksums.txt names, in order (-want +got):\n%s", diff)
	}
	for _, s := range sums {
		if got := fileSHA256(t, filepath.Join(r.dir, s.name)); got != s.sha256 {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", s.name, got, s.sha256)
		}
	}
}

type checksum struct{ sha256, name string }

func readChecksums(t *testing.T, dir string) []checksum {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var sums []checksum
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("checksums.txt line %q: want <sha256>  <name>", sc.Text())
		}
		sums = append(sums, checksum{sum, name})
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestArchives: each archive holds README.md and the platform's binary, in that (sorted)
// order, regular files owned by 0 with no names, every mtime SOURCE_DATE_EPOCH, in a gzip
// stream with no name or timestamp: nothing of the machine or the hour that packed it. The
// binary is the platform's, built static, with -trimpath, and stamped with the version.
func TestArchives(t *testing.T) {
	r := setUp(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range platforms {
		t.Run(p.os+"/"+p.arch, func(t *testing.T) {
			files := readArchive(t, filepath.Join(r.dir, archiveName(r.version, p.os, p.arch)), r.epoch)
			var names []string
			for name := range files {
				names = append(names, name)
			}
			slices.Sort(names)
			if diff := cmp.Diff([]string{"README.md", binName(p.os)}, names); diff != "" {
				t.Fatalf("entries (-want +got):\n%s", diff)
			}
			if !bytes.Equal(files["README.md"], readme) {
				t.Error("README.md is not the repository's")
			}
			checkBinary(t, files[binName(p.os)], p.os, p.arch, r.version)
		})
	}
}

// readArchive returns an archive's files by name, failing on anything that would make two
// packings of the same files differ.
func readArchive(t *testing.T, path string, epoch time.Time) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" {
		t.Errorf("gzip header name %q, mtime %v, comment %q: want none", zr.Name, zr.ModTime, zr.Comment)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	var order []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, hdr.Name)
		if hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: type %c, want a regular file", hdr.Name, hdr.Typeflag)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: owner %d:%d (%q:%q), want 0:0 and no names", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		if !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %v, want SOURCE_DATE_EPOCH %v", hdr.Name, hdr.ModTime, epoch)
		}
		wantMode := int64(0o644)
		if strings.HasPrefix(hdr.Name, "kubectl-rktsched") {
			wantMode = 0o755
		}
		if hdr.Mode != wantMode {
			t.Errorf("%s: mode %o, want %o", hdr.Name, hdr.Mode, wantMode)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = data
	}
	if !slices.IsSorted(order) {
		t.Errorf("entries %v are not sorted", order)
	}
	return files
}

// checkBinary reads the build information Go writes into every binary (any object format).
func checkBinary(t *testing.T, bin []byte, goos, goarch, version string) {
	t.Helper()
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("no Go build info: %v", err)
	}
	if info.Path != "github.com/rktsched/rktsched/cmd/kubectl-rktsched" {
		t.Errorf("main package %s, want cmd/kubectl-rktsched", info.Path)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[key] != want {
			t.Errorf("built with %s=%q, want %q", key, settings[key], want)
		}
	}
	// With -trimpath the build info leaves -ldflags out; the string -X set is in the data.
	// (TestKrewInstall runs this machine's binary with --version.)
	if !bytes.Contains(bin, []byte(version)) {
		t.Errorf("the binary does not hold the version %q that -X stamps", version)
	}
}

// plugin is the part of krew's manifest (sigs.k8s.io/krew/pkg/index.Plugin) the test reads.
type plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version   string `json:"version"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readPlugin(t *testing.T, path string) plugin {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p plugin
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// krewVersion is the spec.version distpack makes of make's VERSION.
func krewVersion(v string) string {
	if strings.HasPrefix(v, "v") && strings.Count(v, ".") >= 2 {
		return v
	}
	return "v0.0.0-dev-" + v
}

// TestManifest: plugins/rktsched.yaml names each archive by its release URI with the sha256
// checksums.txt gives it, one platform each, and krew's own validation accepts it; the same
// validation refuses it with one checksum broken, so its acceptance means something.
func TestManifest(t *testing.T) {
	r := setUp(t)
	p := readPlugin(t, r.manifest)
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "rktsched" {
		t.Errorf("apiVersion %q kind %q name %q: want krew's v1alpha2 Plugin rktsched", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if want := krewVersion(r.version); p.Spec.Version != want {
		t.Errorf("spec.version %q, want %q", p.Spec.Version, want)
	}
	sums := map[string]string{}
	for _, s := range readChecksums(t, r.dir) {
		sums[s.name] = s.sha256
	}
	var got []string
	for _, pl := range p.Spec.Platforms {
		goos, goarch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		got = append(got, goos+"/"+goarch)
		name := archiveName(r.version, goos, goarch)
		if !strings.HasPrefix(pl.URI, "https://") || !strings.HasSuffix(pl.URI, "/"+r.version+"/"+name) {
			t.Errorf("%s/%s uri %s: want https://.../%s/%s", goos, goarch, pl.URI, r.version, name)
		}
		if pl.SHA256 != sums[name] {
			t.Errorf("%s/%s sha256 %s, checksums.txt has %q for %s", goos, goarch, pl.SHA256, sums[name], name)
		}
		if pl.Bin != binName(goos) {
			t.Errorf("%s/%s bin %s, want %s", goos, goarch, pl.Bin, binName(goos))
		}
	}
	var want []string
	for _, pl := range platforms {
		want = append(want, pl.os+"/"+pl.arch)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}

	if out, err := validate(t, r, r.manifest); err != nil {
		t.Errorf("validate-krew-manifest refuses %s: %v\n%s", r.manifest, err, out)
	}
	data, err := os.ReadFile(r.manifest)
	if err != nil {
		t.Fatal(err)
	}
	first := p.Spec.Platforms[0].SHA256
	broken := filepath.Join(t.TempDir(), "rktsched.yaml")
	if err := os.WriteFile(broken, bytes.Replace(data, []byte(first), []byte(first[:63]+"z"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := validate(t, r, broken); err == nil || !strings.Contains(out, "sha256") {
		t.Errorf("validate-krew-manifest accepts a manifest with the sha256 %s...z (err %v):\n%s", first[:63], err, out)
	}
}

// validate runs krew's validate-krew-manifest without its install step, which would download
// every platform's archive from its uri (TestKrewInstall installs the local ones instead).
func validate(t *testing.T, r release, manifest string) (string, error) {
	t.Helper()
	out, err := exec.Command(filepath.Join(r.bin, "validate-krew-manifest"), "-manifest", manifest, "-skip-install").CombinedOutput()
	return string(out), err
}

// TestKrewInstall: `krew install --manifest --archive` of every platform's archive (krew told
// the platform by KREW_OS and KREW_ARCH) checks the archive against the manifest's sha256 and
// installs the binary and README.md; on this machine's platform the installed plugin runs and
// reports the version. Another platform's archive is refused: its sha256 does not match.
func TestKrewInstall(t *testing.T) {
	r := setUp(t)
	for _, p := range platforms {
		t.Run(p.os+"/"+p.arch, func(t *testing.T) {
			archive := filepath.Join(r.dir, archiveName(r.version, p.os, p.arch))
			root := t.TempDir()
			if out, err := krewInstall(t, r, root, p.os, p.arch, archive); err != nil {
				t.Fatalf("krew install: %v\n%s", err, out)
			}
			files := readArchive(t, archive, r.epoch)
			store := filepath.Join(root, "store", "rktsched", krewVersion(r.version))
			for name, want := range files {
				got, err := os.ReadFile(filepath.Join(store, name))
				if err != nil {
					t.Errorf("krew did not install %s: %v", name, err)
				} else if !bytes.Equal(got, want) {
					t.Errorf("installed %s differs from the archive's", name)
				}
			}
			link := filepath.Join(root, "bin", binName(p.os))
			if _, err := os.Stat(link); err != nil {
				t.Errorf("krew put no %s on its PATH: %v", binName(p.os), err)
			}
			if p.os != runtime.GOOS || p.arch != runtime.GOARCH {
				return
			}
			out, err := exec.Command(link, "--version").CombinedOutput()
			if err != nil || !strings.Contains(string(out), r.version) {
				t.Errorf("installed kubectl-rktsched --version: %v\n%s\nwant it to report %s", err, out, r.version)
			}
		})
	}
	t.Run("another platform's archive", func(t *testing.T) {
		if len(platforms) < 2 {
			t.Skip("one platform in DIST_PLATFORMS: no other platform's archive to try")
		}
		a, b := platforms[0], platforms[1]
		wrong := filepath.Join(r.dir, archiveName(r.version, b.os, b.arch))
		out, err := krewInstall(t, r, t.TempDir(), a.os, a.arch, wrong)
		if err == nil || !strings.Contains(out, "checksum") {
			t.Errorf("krew installed %s/%s's archive as %s/%s's (err %v):\n%s", b.os, b.arch, a.os, a.arch, err, out)
		}
	})
}

func krewInstall(t *testing.T, r release, root, goos, goarch, archive string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(r.bin, "krew"), "install", "--manifest="+r.manifest, "--archive="+archive)
	// No upgrade check: it would ask GitHub for krew's latest release.
	cmd.Env = []string{"KREW_ROOT=" + root, "KREW_OS=" + goos, "KREW_ARCH=" + goarch, "KREW_NO_UPGRADE_CHECK=1", "HOME=" + root, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
