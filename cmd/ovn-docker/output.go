package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// Output formats (-o).
const (
	outTable = "table"
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
	outValue = "value"
)

var outputFormats = []string{outTable, outWide, outJSON, outYAML, outValue}

// errUsage: a flag's value is not one the command takes.
var errUsage = errors.New("invalid usage")

// checkOutput validates -o.
func checkOutput(o string) error {
	for _, f := range outputFormats {
		if o == f {
			return nil
		}
	}
	return fmt.Errorf("%w: -o/--output %q: allowed are %s", errUsage, o, strings.Join(outputFormats, ", "))
}

// structured: -o asks for a machine-readable document (json, yaml).
func (a *app) structured() bool { return a.output == outJSON || a.output == outYAML }

// listFlags are a listing command's own output flags, as docker's.
type listFlags struct {
	quiet  bool
	format string
}

func (f *listFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "only print "+what)
	cmd.Flags().StringVar(&f.format, "format", "", "Go template for each row, as docker's (`table` prefix for a table with headers; functions json, join, upper, lower, truncate)")
}

// column is one column of a listing's table.
type column struct {
	header string
	wide   bool // only with -o wide
	max    int  // cut to this many characters in a table (0: never)
	value  func(row any) string
}

// listing is what a listing command prints: its rows (the objects shown
// by json, yaml and --format) and how they look in a table.
type listing struct {
	cols []column
	rows []any
	id   func(row any) string // for -q
}

// printDoc prints v as -o json or yaml asks.
func (a *app) printDoc(v any) error {
	if a.output == outYAML {
		return printYAML(a.stdout, v)
	}
	return a.printJSON(v)
}

// printYAML prints v as YAML with its JSON field names (through JSON, so
// that the json tags are the one description of the fields).
func printYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

func (a *app) printList(l listing, f listFlags) error {
	switch {
	case f.quiet:
		for _, r := range l.rows {
			fmt.Fprintln(a.stdout, l.id(r))
		}
		return nil
	case f.format != "":
		return printTemplate(a.stdout, f.format, l.rows)
	case a.structured():
		rows := l.rows
		if rows == nil {
			rows = []any{}
		}
		return a.printDoc(rows)
	case a.output == outValue:
		for _, r := range l.rows {
			var vs []string
			for _, c := range l.cols {
				if !c.wide {
					vs = append(vs, c.value(r))
				}
			}
			fmt.Fprintln(a.stdout, strings.Join(vs, " "))
		}
		return nil
	}
	wide := a.output == outWide
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	var hs []string
	for _, c := range l.cols {
		if wide || !c.wide {
			hs = append(hs, c.header)
		}
	}
	fmt.Fprintln(tw, strings.Join(hs, "\t"))
	for _, r := range l.rows {
		var vs []string
		for _, c := range l.cols {
			if !wide && c.wide {
				continue
			}
			v := dash(c.value(r))
			if !wide && c.max > 0 {
				v = truncate(v, c.max)
			}
			vs = append(vs, v)
		}
		fmt.Fprintln(tw, strings.Join(vs, "\t"))
	}
	return tw.Flush()
}

// truncate cuts s to n characters, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"truncate": func(s string, n int) string {
		return truncate(s, n)
	},
}

// templateField finds the fields a --format names, for a table's headers.
var templateField = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// printTemplate prints each row through the Go template format, as
// docker's --format: a "table " prefix makes a tab-aligned table whose
// headers are the fields' names in capitals.
func printTemplate(w io.Writer, format string, rows []any) error {
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	table := false
	if rest, ok := strings.CutPrefix(format, "table"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		table, format = true, strings.TrimLeft(rest, " ")
	}
	t, err := template.New("format").Funcs(templateFuncs).Option("missingkey=error").Parse(format)
	if err != nil {
		return fmt.Errorf("%w: --format %q: %w", errUsage, format, err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
		header := templateField.ReplaceAllStringFunc(format, func(m string) string {
			return strings.ToUpper(templateField.FindStringSubmatch(m)[1])
		})
		fmt.Fprintln(tw, header)
	}
	for _, r := range rows {
		var b bytes.Buffer
		if err := t.Execute(&b, r); err != nil {
			return fmt.Errorf("%w: --format %q on a %s: %w", errUsage, format, typeName(r), err)
		}
		fmt.Fprintln(out, b.String())
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "row"
	}
	return t.Name()
}
