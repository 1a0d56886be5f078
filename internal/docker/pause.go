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
)

// ErrNotStatic: the executable cannot serve as the pause image.
var ErrNotStatic = errors.New("executable is not statically linked")

// PauseImageRepo is the repository of the images the plugin makes.
const PauseImageRepo = "ovn-docker-pause"

// EnsurePauseImage makes sure the engine has an image whose only content is
// the executable exe (normally /proc/self/exe) and whose command is
// `exe pause`. The tag is the executable's hash, so an upgraded plugin gets
// its own image and a VM needs no registry. exe must be static (built with
// CGO_ENABLED=0): the image has no libc.
func (c *Client) EnsurePauseImage(ctx context.Context, exe string) (string, error) {
	data, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("reading %s for the pause image: %w", exe, err)
	}
	ref := pauseRef(data)
	ok, err := c.ImageExists(ctx, ref)
	if err != nil {
		return "", err
	}
	if ok {
		return ref, nil
	}
	if err := checkStatic(data); err != nil {
		return "", fmt.Errorf("%w: the network-holding container runs the plugin itself: build ovn-docker with CGO_ENABLED=0, or pass --pause-image IMAGE (an image whose command sleeps until stopped)", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "ovn-docker", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(data); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := c.Import(ctx, &buf, ref, `ENTRYPOINT ["/ovn-docker"]`, `CMD ["pause"]`); err != nil {
		return "", fmt.Errorf("making the pause image %s: %w", ref, err)
	}
	return ref, nil
}

func checkStatic(data []byte) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not an ELF file: %v", ErrNotStatic, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			r := io.NewSectionReader(p, 0, int64(p.Filesz))
			interp, _ := io.ReadAll(r)
			return fmt.Errorf("%w (it needs %s)", ErrNotStatic, bytes.TrimRight(interp, "\x00"))
		}
	}
	return nil
}

// PauseImageRef is the pause image EnsurePauseImage makes from exe.
func (c *Client) PauseImageRef(exe string) (string, error) {
	data, err := os.ReadFile(exe)
	if err != nil {
		return "", err
	}
	return pauseRef(data), nil
}

func pauseRef(exe []byte) string {
	sum := sha256.Sum256(exe)
	return PauseImageRepo + ":" + hex.EncodeToString(sum[:])[:16]
}
