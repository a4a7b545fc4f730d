package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/testcontainers/testcontainers-go"
)

// TestImageConfig checks what the image tells the runtime: who it runs as,
// what it runs and what it listens on.
func TestImageConfig(t *testing.T) {
	cli := dockerClient(t)
	img, err := cli.ImageInspect(t.Context(), image())
	if err != nil {
		t.Fatalf("inspect %s: %v", image(), err)
	}
	if img.Config == nil {
		t.Fatalf("image %s has no config", image())
	}
	cfg := img.Config
	ports := make([]string, 0, len(cfg.ExposedPorts))
	for p := range cfg.ExposedPorts {
		ports = append(ports, p)
	}
	slices.Sort(ports)

	tests := []struct {
		name      string
		got, want any
	}{
		{"runs as nonroot", cfg.User, nonrootID + ":" + nonrootID},
		{"entrypoint", cfg.Entrypoint, []string{"/kubedesk"}},
		{"default command", cfg.Cmd, []string{"serve", "--target=all", "--data-dir=/data"}},
		{"working directory", cfg.WorkingDir, "/data"},
		{"exposed ports", ports, []string{smtpPort, httpPort, grpcPort}},
		{"os", img.Os, "linux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("%s of %s (-want +got):\n%s", tt.name, image(), diff)
			}
		})
	}
}

// fileInfo is one entry of the image's file system.
type fileInfo struct {
	typeflag byte
	mode     int64
	uid, gid int
}

// TestImageFileSystem reads the layers of the image (docker save) and checks
// it is a scratch image: the binary and its few files, no shell, nothing
// that could be exec'd except /kubedesk.
func TestImageFileSystem(t *testing.T) {
	cli := dockerClient(t)
	fs, err := readImageFS(t, cli, "etc/passwd", "etc/group")
	if err != nil {
		t.Fatalf("read the layers of %s: %v", image(), err)
	}
	files := fs.files
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f := files[name]
		t.Logf("%c %04o %5d:%-5d /%s", f.typeflag, f.mode, f.uid, f.gid, name)
	}

	t.Run("present", func(t *testing.T) {
		tests := []struct {
			path     string
			typeflag byte
			uid      int
			mode     int64 // permission bits that must be set
		}{
			{"kubedesk", tar.TypeReg, 0, 0o555},
			{"etc/passwd", tar.TypeReg, 0, 0o444},
			{"etc/group", tar.TypeReg, 0, 0o444},
			{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0, 0o444},
			{"data", tar.TypeDir, nonroot, 0o700},
			{"tmp", tar.TypeDir, 0, 0o1777},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				f, ok := files[tt.path]
				switch {
				case !ok:
					t.Fatalf("/%s is missing from %s", tt.path, image())
				case f.typeflag != tt.typeflag:
					t.Errorf("/%s has type %q, want %q", tt.path, f.typeflag, tt.typeflag)
				case f.uid != tt.uid:
					t.Errorf("/%s is owned by uid %d, want %d", tt.path, f.uid, tt.uid)
				case f.mode&tt.mode != tt.mode:
					t.Errorf("/%s has mode %04o, want at least %04o", tt.path, f.mode, tt.mode)
				}
			})
		}
	})

	t.Run("no shell or other executables", func(t *testing.T) {
		shells := []string{"sh", "bash", "ash", "dash", "zsh", "busybox", "toybox"}
		for name, f := range files {
			if slices.Contains(shells, path.Base(name)) {
				t.Errorf("/%s: %s must not ship a shell", name, image())
			}
			if f.typeflag == tar.TypeReg && f.mode&0o111 != 0 && name != "kubedesk" {
				t.Errorf("/%s is executable (mode %04o): only /kubedesk should be", name, f.mode)
			}
			for _, dir := range []string{"bin/", "sbin/", "usr/bin/", "usr/sbin/", "usr/local/bin/"} {
				if strings.HasPrefix(name, dir) {
					t.Errorf("/%s: a scratch image has no %s", name, dir)
				}
			}
		}
	})

	t.Run("nonroot user", func(t *testing.T) {
		for _, tt := range []struct{ file, entry string }{
			{"etc/passwd", "nonroot:x:" + nonrootID + ":" + nonrootID + ":"},
			{"etc/group", "nonroot:x:" + nonrootID + ":"},
		} {
			if !slices.ContainsFunc(strings.Split(fs.contents[tt.file], "\n"), func(l string) bool {
				return strings.HasPrefix(l, tt.entry)
			}) {
				t.Errorf("/%s has no %s... entry:\n%s", tt.file, tt.entry, fs.contents[tt.file])
			}
		}
	})
}

// imageFS is the image's flattened file system, from `docker save`.
type imageFS struct {
	files    map[string]fileInfo // by path without the leading slash
	contents map[string]string   // of the files readImageFS was asked for
}

// readImageFS flattens the image's layers, keeping the contents of the
// named files.
func readImageFS(t *testing.T, cli *testcontainers.DockerClient, keep ...string) (imageFS, error) {
	fs := imageFS{files: map[string]fileInfo{}, contents: map[string]string{}}
	err := walkLayers(t, cli, func(hdr *tar.Header, r io.Reader) error {
		name := strings.TrimSuffix(path.Clean(hdr.Name), "/")
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq": // opaque directory: drop what lower layers had in it
			for p := range fs.files {
				if strings.HasPrefix(p, dir) {
					delete(fs.files, p)
				}
			}
		case strings.HasPrefix(base, ".wh."): // whiteout: the path was removed
			gone := dir + strings.TrimPrefix(base, ".wh.")
			for p := range fs.files {
				if p == gone || strings.HasPrefix(p, gone+"/") {
					delete(fs.files, p)
				}
			}
		default:
			fs.files[name] = fileInfo{typeflag: hdr.Typeflag, mode: hdr.Mode, uid: hdr.Uid, gid: hdr.Gid}
			if hdr.Typeflag == tar.TypeReg && slices.Contains(keep, name) {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				fs.contents[name] = string(b)
			}
		}
		return nil
	})
	return fs, err
}

// walkLayers calls fn for every entry of every layer of the image, bottom
// layer first. `docker save` writes a tar holding manifest.json and the
// layers (legacy <id>/layer.tar or OCI blobs/sha256/<digest>, in any order),
// so the layers are kept in memory until the manifest says their order.
func walkLayers(t *testing.T, cli *testcontainers.DockerClient, fn func(*tar.Header, io.Reader) error) error {
	t.Helper()
	saved, err := cli.ImageSave(t.Context(), []string{image()})
	if err != nil {
		return fmt.Errorf("docker save: %w", err)
	}
	defer saved.Close()

	blobs := map[string][]byte{}
	outer := tar.NewReader(saved)
	for {
		hdr, err := outer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("docker save: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(outer)
		if err != nil {
			return fmt.Errorf("docker save: %s: %w", hdr.Name, err)
		}
		blobs[path.Clean(hdr.Name)] = b
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(blobs["manifest.json"], &manifest); err != nil {
		return fmt.Errorf("docker save: manifest.json: %w", err)
	}
	if len(manifest) != 1 {
		return fmt.Errorf("docker save: manifest.json lists %d images, want 1", len(manifest))
	}
	for _, layer := range manifest[0].Layers {
		b, ok := blobs[path.Clean(layer)]
		if !ok {
			return fmt.Errorf("docker save: layer %s is missing", layer)
		}
		var r io.Reader = bytes.NewReader(b)
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			if r, err = gzip.NewReader(r); err != nil {
				return fmt.Errorf("layer %s: %w", layer, err)
			}
		}
		tr := tar.NewReader(r)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("layer %s: %w", layer, err)
			}
			if err := fn(hdr, tr); err != nil {
				return fmt.Errorf("layer %s: %s: %w", layer, hdr.Name, err)
			}
		}
	}
	return nil
}
