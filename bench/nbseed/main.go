// Command nbseed gives a running sandbox's NB many ports, as a large
// cloud has, for benchmarks at scale (bench/daemon-run/run.sh with
// SEED=N). It makes a network of its own (a /14) through the sandbox's API
// as one of its users, then writes the ports straight into NB as
// ovn-neutrond would; `-remove ID` takes them and the network away again.
//
//	go run ./bench/nbseed -facts $SANDBOX_DIR/sandbox.json -n 20000   # prints the network's id
//	go run ./bench/nbseed -facts $SANDBOX_DIR/sandbox.json -remove ID
//
// The ports are ovn-neutrond's kind (real Neutron keeps its own database
// and would not know them): use it on a sandbox of the neutrond cloud.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/ovn-docker/ovn-docker/bench/internal/nbseed"
	"github.com/ovn-docker/ovn-docker/bench/internal/neutronapi"
)

// facts is what nbseed reads of sandbox.json.
type facts struct {
	Cloud   string `json:"cloud"`
	NBDB    string `json:"nb_db"`
	APIURL  string `json:"api_url"`
	AuthURL string `json:"auth_url"`
	Users   []struct {
		Name      string `json:"name"`
		ProjectID string `json:"project_id"`
		Password  string `json:"password"`
	} `json:"users"`
}

var (
	cidr  = netip.MustParsePrefix("10.64.0.0/14")
	first = netip.MustParseAddr("10.65.0.0") // away from where the API allocates
)

func main() {
	factsPath := flag.String("facts", "", "the sandbox's sandbox.json")
	n := flag.Int("n", 20000, "ports to seed")
	user := flag.String("user", "demo", "the sandbox user that owns the network")
	remove := flag.String("remove", "", "remove the seeded ports and the network of this id instead")
	flag.Parse()
	if err := run(*factsPath, *user, *n, *remove); err != nil {
		fmt.Fprintln(os.Stderr, "nbseed:", err)
		os.Exit(1)
	}
}

func run(factsPath, user string, n int, remove string) error {
	if factsPath == "" {
		return errors.New("-facts: the sandbox's sandbox.json is required")
	}
	data, err := os.ReadFile(factsPath)
	if err != nil {
		return err
	}
	var f facts
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%s: %w", factsPath, err)
	}
	if f.Cloud != "neutrond" {
		return fmt.Errorf("the sandbox's cloud is %q: seeded ports are ovn-neutrond's kind, use a sandbox of the neutrond cloud", f.Cloud)
	}
	api, err := client(f, user)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if remove != "" {
		return removeSeeded(ctx, f, api, remove)
	}
	netID, subnetID, err := api.Network(fmt.Sprintf("bench-scale-%d", os.Getpid()), cidr.String())
	if err != nil {
		return err
	}
	sd, err := nbseed.New(ctx, f.NBDB, netID, subnetID, cidr, first)
	if err != nil {
		return err
	}
	defer sd.Close()
	if err := sd.FillTo(ctx, n); err != nil {
		return err
	}
	fmt.Println(netID)
	return nil
}

func removeSeeded(ctx context.Context, f facts, api *neutronapi.Client, netID string) error {
	sd, err := nbseed.New(ctx, f.NBDB, netID, "", cidr, first)
	if err != nil {
		return err
	}
	defer sd.Close()
	if _, err := sd.Remove(ctx); err != nil {
		return err
	}
	// The server sees the ports go through its NB monitor, a moment after
	// the transaction: until then it finds the network in use (409).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		_, err = api.Do("DELETE", "/v2.0/networks/"+netID, "", 204)
		if err == nil || !strings.Contains(err.Error(), "NetworkInUse") || time.Now().After(deadline) {
			return err
		}
	}
}

// client is an API client with a token of user.
func client(f facts, user string) (*neutronapi.Client, error) {
	for _, u := range f.Users {
		if u.Name == user {
			tok, err := neutronapi.Token(strings.TrimSuffix(f.AuthURL, "/v3"), u.Name, u.Password, u.ProjectID)
			if err != nil {
				return nil, err
			}
			return neutronapi.New(f.APIURL, tok), nil
		}
	}
	return nil, fmt.Errorf("-user %q: no such user in the sandbox", user)
}
