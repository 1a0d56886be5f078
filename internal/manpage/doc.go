// Package manpage generates the programs' man pages from their cobra
// command trees, so that the pages say what --help says.
package manpage
