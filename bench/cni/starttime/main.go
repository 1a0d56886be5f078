// Command starttime runs each executable given, in turns, N times as a
// container runtime runs a CNI plugin (fork and exec, CNI_COMMAND=VERSION,
// a configuration on stdin, stdout read to its end) and prints the
// median, 10th and 90th percentile of the wall time of each: what a
// process start costs on this machine, apart from any plugin's own work.
//
//	starttime -n 200 /bin/true ./empty /usr/lib/cni/bridge ./ovn-cni
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 200, "runs of each executable")
	flag.Parse()
	took := map[string][]time.Duration{}
	for range *n {
		for _, p := range flag.Args() {
			c := exec.Command(p)
			c.Env = append(os.Environ(), "CNI_COMMAND=VERSION")
			c.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
			start := time.Now()
			if _, err := c.Output(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", p, err)
				os.Exit(1)
			}
			took[p] = append(took[p], time.Since(start))
		}
	}
	for _, p := range flag.Args() {
		xs := took[p]
		slices.Sort(xs)
		ms := func(q int) float64 { return float64(xs[q*(len(xs)-1)/100].Microseconds()) / 1000 }
		fmt.Printf("start %s: n=%d p50=%.2f ms p10=%.2f ms p90=%.2f ms\n", p, len(xs), ms(50), ms(10), ms(90))
	}
}
