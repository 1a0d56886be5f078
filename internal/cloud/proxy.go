package cloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// DefaultProxyURL is where a VM finds its hypervisor's VM proxy
// (ovn-docker-proxy) when no credentials are given: the link-local
// address the OpenStack metadata service uses, on Neutron's port.
const DefaultProxyURL = "http://169.254.169.254:9696"

// WhoAmIPath is the proxy's own resource (below its root) that tells the
// calling VM its port and project.
const WhoAmIPath = "ovn-docker/whoami"

// WhoAmI is the proxy's answer: which VM port the request came from.
type WhoAmI struct {
	VIFID     string `json:"vif_id"`
	ProjectID string `json:"project_id"`
	NetworkID string `json:"network_id"`
	MAC       string `json:"mac_address"`
	IP        string `json:"ip_address"`
}

// ConnectProxy makes a client that talks to a VM proxy at proxyURL instead
// of Neutron: no credential is sent, the proxy acts for the VM whose port
// the request comes from and answers only what that VM may know. It asks
// the proxy who the VM is (VIFID, ProjectID).
func ConnectProxy(ctx context.Context, proxyURL string, timeout time.Duration, log *slog.Logger) (*Client, error) {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	base := gophercloud.NormalizeURL(strings.TrimSuffix(strings.TrimRight(proxyURL, "/"), "/v2.0"))
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("invalid proxy URL %q: want http://HOST:PORT", proxyURL)
	}
	provider := &gophercloud.ProviderClient{IdentityBase: base, IdentityEndpoint: base, HTTPClient: http.Client{Timeout: timeout, Transport: newTransport()}}
	c := &Client{net: serviceClient(provider, base), log: log}
	var who WhoAmI
	if _, err := c.net.Get(ctx, base+WhoAmIPath, &who, nil); err != nil {
		err = c.apiError("asking the VM proxy at "+base+" who this VM is", err)
		return nil, fmt.Errorf("%w (is ovn-docker-proxy running on the hypervisor, and does this VM route 169.254.169.254 to it?)", err)
	}
	if who.VIFID == "" || who.ProjectID == "" {
		return nil, fmt.Errorf("the VM proxy at %s did not say which port and project this VM has", base)
	}
	c.project, c.vifID = who.ProjectID, who.VIFID
	c.entry = cacheEntry{NetworkURL: base, ProjectID: who.ProjectID}
	log.Debug("using the VM proxy", "url", base, "vif_id", who.VIFID, "project", who.ProjectID)
	return c, nil
}

// VIFID is the VM's port as the VM proxy identified it ("" when the
// client holds credentials of its own).
func (c *Client) VIFID() string { return c.vifID }

// ViaProxy reports whether the client talks to a VM proxy.
func (c *Client) ViaProxy() bool { return c.vifID != "" }

// Forward sends a request to Neutron as this client's identity and returns
// Neutron's status and body whatever the status is (the VM proxy passes
// them on). path is below the API version ("ports?network_id=…"). A 401
// is answered by authenticating again once.
func (c *Client) Forward(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	opts := &gophercloud.RequestOpts{KeepResponseBody: true, OkCodes: forwardCodes, MoreHeaders: map[string]string{"Accept": "application/json"}}
	if body != nil {
		opts.RawBody = bytes.NewReader(body)
		opts.MoreHeaders["Content-Type"] = "application/json"
	}
	resp, err := c.net.Request(ctx, method, c.net.ResourceBase+path, opts)
	if err != nil {
		var code gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &code) {
			return code.Actual, code.Body, nil
		}
		return 0, nil, c.apiError(method+" "+strings.SplitN(path, "?", 2)[0], err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardBody))
	if err != nil {
		return 0, nil, fmt.Errorf("reading Neutron's answer to %s: %w", method, err)
	}
	return resp.StatusCode, b, nil
}

// maxForwardBody bounds an answer read from Neutron (a port list of a
// big project is a few MB).
const maxForwardBody = 64 << 20

// forwardCodes: every status but 401, which gophercloud answers by
// authenticating again.
var forwardCodes = func() []int {
	var cs []int
	for c := 200; c < 600; c++ {
		if c != http.StatusUnauthorized {
			cs = append(cs, c)
		}
	}
	return cs
}()
