package keystone

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Password hashes are "pbkdf2-sha256:<iterations>:<salt>:<key>" with
// unpadded URL-safe base64: no "$", quotes or spaces, so the string can be
// pasted into YAML or a shell script without escaping.
const (
	hashScheme = "pbkdf2-sha256"
	// hashIterations keeps one verification around 20-30 ms on a current
	// core: slow enough to make guessing from a leaked file costly, fast
	// enough that a login per CLI command is not noticed.
	hashIterations = 100_000
	minIterations  = 10_000
	// maxIterations bounds the work a (mistaken) identity file can demand.
	maxIterations = 10_000_000
	saltLen       = 16
	keyLen        = 32
	// maxPasswordLen bounds the work an attacker can demand per request.
	maxPasswordLen = 4096
)

type passwordHash struct {
	iterations int
	salt, key  []byte
}

// HashPassword returns a salted PBKDF2-SHA256 hash of password for the
// identity file.
func HashPassword(password string) (string, error) {
	return HashPasswordIterations(password, hashIterations)
}

// HashPasswordIterations is HashPassword with a chosen work factor
// (10000 to 10000000 PBKDF2 iterations). Tests use the minimum: under the
// race detector one default hash takes most of a second.
func HashPasswordIterations(password string, iterations int) (string, error) {
	if iterations < minIterations || iterations > maxIterations {
		return "", fmt.Errorf("iterations %d out of range: use %d to %d", iterations, minIterations, maxIterations)
	}
	if password == "" {
		return "", errors.New("password is empty")
	}
	if len(password) > maxPasswordLen {
		return "", fmt.Errorf("password is %d bytes long; at most %d are allowed", len(password), maxPasswordLen)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read random salt: %w", err)
	}
	h, err := derive(password, salt, iterations)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func derive(password string, salt []byte, iterations int) (passwordHash, error) {
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, keyLen)
	if err != nil {
		return passwordHash{}, fmt.Errorf("derive password hash: %w", err)
	}
	return passwordHash{iterations: iterations, salt: salt, key: key}, nil
}

func (h passwordHash) String() string {
	enc := base64.RawURLEncoding
	return strings.Join([]string{hashScheme, strconv.Itoa(h.iterations), enc.EncodeToString(h.salt), enc.EncodeToString(h.key)}, ":")
}

// parsePasswordHash never includes the hash in its errors: it is not
// secret like a password, but it is still material for offline guessing.
func parsePasswordHash(s string) (passwordHash, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != hashScheme {
		return passwordHash{}, fmt.Errorf("not of the form %s:<iterations>:<salt>:<key>", hashScheme)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < minIterations || n > maxIterations {
		return passwordHash{}, fmt.Errorf("iterations must be a number from %d to %d", minIterations, maxIterations)
	}
	salt, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(salt) < 8 {
		return passwordHash{}, errors.New("salt must be unpadded URL-safe base64 of at least 8 bytes")
	}
	key, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || len(key) != keyLen {
		return passwordHash{}, fmt.Errorf("key must be unpadded URL-safe base64 of %d bytes", keyLen)
	}
	return passwordHash{iterations: n, salt: salt, key: key}, nil
}

// verify reports whether password matches, in time independent of where
// the keys differ.
func (h passwordHash) verify(password string) bool {
	if len(password) > maxPasswordLen {
		return false
	}
	got, err := derive(password, h.salt, h.iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got.key, h.key) == 1
}

// HashPasswordCommand reads one password line from stdin and writes its
// hash, for scripts that generate the identity file
// (`ovn-neutrond hash-password`). Reading stdin keeps the password out of
// argv, where `ps` would show it.
func HashPasswordCommand(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(io.LimitReader(stdin, maxPasswordLen+3)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	password := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if password == "" {
		return errors.New("no password on stdin: write the password as one line to standard input")
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, h); err != nil {
		return fmt.Errorf("write hash: %w", err)
	}
	return nil
}
