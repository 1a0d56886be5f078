package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotStatic: the executable cannot serve as the pause image (it is
// not static and its libraries cannot be found).
var ErrNotStatic = errors.New("executable is not statically linked")

// PauseImageRepo is the repository of the images the plugin makes.
const PauseImageRepo = "ovn-docker-pause"

// EnsurePauseImage makes sure the engine has an image whose content is the
// executable exe (normally /proc/self/exe) and whose command is `exe
// pause`. The tag is derived from the executable's Go build ID (a hash of
// its content the linker stores in it; read without reading the whole
// file) or, without one, the hash of the whole file, so an upgraded plugin
// gets its own image and a VM needs no registry. A dynamically linked exe (the
// default with cgo) gets its loader and libraries copied in.
func (c *Client) EnsurePauseImage(ctx context.Context, exe string) (string, error) {
	ref, err := c.PauseImageRef(exe)
	if err != nil {
		return "", fmt.Errorf("reading %s for the pause image: %w", exe, err)
	}
	ok, err := c.ImageExists(ctx, ref)
	if err != nil {
		return "", err
	}
	if ok {
		return ref, nil
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("reading %s for the pause image: %w", exe, err)
	}
	files, err := imageFiles(data)
	if err != nil {
		return "", fmt.Errorf("%w: build ovn-docker with CGO_ENABLED=0, or pass --pause-image IMAGE (an image whose command sleeps until stopped)", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f.path, "/"), Mode: 0o755, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := c.Import(ctx, &buf, ref, `ENTRYPOINT ["/ovn-docker"]`, `CMD ["pause"]`); err != nil {
		return "", fmt.Errorf("making the pause image %s: %w", ref, err)
	}
	return ref, nil
}

type imageFile struct {
	path string
	data []byte
}

// libDirs are where a dynamically linked plugin's libraries are looked
// for, in the dynamic loader's default order (Debian multiarch first).
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// imageFiles is the pause image's content: the executable as /ovn-docker
// and, if it is dynamically linked (the default with cgo), its loader and
// libraries at the paths the loader looks in.
func imageFiles(exe []byte) ([]imageFile, error) {
	files := []imageFile{{"/ovn-docker", exe}}
	f, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		return nil, fmt.Errorf("%w: not an ELF file: %v", ErrNotStatic, err)
	}
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(io.NewSectionReader(p, 0, int64(p.Filesz)))
			interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	if interp == "" {
		return files, nil
	}
	seen := map[string]bool{}
	add := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		data, err := os.ReadFile(path) // follows symlinks: the real library
		if err != nil {
			return fmt.Errorf("%w and its library %s cannot be read: %v", ErrNotStatic, path, err)
		}
		files = append(files, imageFile{path, data})
		return nil
	}
	if err := add(interp); err != nil {
		return nil, err
	}
	queue, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotStatic, err)
	}
	for len(queue) > 0 {
		lib := queue[0]
		queue = queue[1:]
		path := ""
		for _, d := range libDirs {
			if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
				path = filepath.Join(d, lib)
				break
			}
		}
		if path == "" {
			return nil, fmt.Errorf("%w and its library %s is not in %s", ErrNotStatic, lib, strings.Join(libDirs, ", "))
		}
		if seen[path] {
			continue
		}
		if err := add(path); err != nil {
			return nil, err
		}
		if lf, err := elf.Open(path); err == nil {
			more, _ := lf.ImportedLibraries()
			queue = append(queue, more...)
			lf.Close()
		}
	}
	return files, nil
}

// PauseImageRef is the pause image EnsurePauseImage makes from exe.
func (c *Client) PauseImageRef(exe string) (string, error) {
	id, err := goBuildID(exe)
	if err != nil {
		return "", err
	}
	var sum [sha256.Size]byte
	if id != "" {
		sum = sha256.Sum256([]byte("go-build-id:" + id))
	} else {
		data, err := os.ReadFile(exe)
		if err != nil {
			return "", err
		}
		sum = sha256.Sum256(data)
	}
	return PauseImageRepo + ":" + hex.EncodeToString(sum[:])[:16], nil
}

// goBuildID returns the Go build ID the linker wrote into exe's
// .note.go.buildid section ("" if there is none: not an ELF file, another
// toolchain, or -buildid= cleared it). Its last part is a hash of the
// executable's content, so it changes whenever the executable does.
func goBuildID(exe string) (string, error) {
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return "", nil
	}
	sec := ef.Section(".note.go.buildid")
	if sec == nil {
		return "", nil
	}
	note, err := sec.Data()
	if err != nil || len(note) < 16 {
		return "", nil
	}
	// An ELF note: namesz, descsz, type, name "Go\0\0", then desc.
	order := ef.ByteOrder
	namesz, descsz := order.Uint32(note[0:]), order.Uint32(note[4:])
	start := 12 + (uint64(namesz)+3)&^3
	if string(note[12:min(len(note), 14)]) != "Go" || start+uint64(descsz) > uint64(len(note)) {
		return "", nil
	}
	return string(note[start : start+uint64(descsz)]), nil
}
