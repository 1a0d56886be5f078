package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// Options say how to authenticate. A Token wins over everything else; it
// still needs the auth URL (OS_AUTH_URL or the clouds.yaml entry) so that
// the token can be validated and Neutron found in its catalog.
type Options struct {
	// Token is a Keystone token (`openstack token issue`).
	Token string
	// Cloud names a clouds.yaml entry; empty means OS_CLOUD, if set.
	Cloud string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Timeout bounds each HTTP request; zero means DefaultTimeout.
	Timeout time.Duration
	// CacheDir holds the authentication cache (see DefaultCacheDir); ""
	// means no cache: every Connect asks Keystone.
	CacheDir string
}

// Client talks to Neutron as the authenticated project.
type Client struct {
	net      *gophercloud.ServiceClient
	provider *gophercloud.ProviderClient
	authURL  string
	// byToken: the caller gave a bare token, which cannot be renewed.
	byToken bool
	project string
	vifID   string // the VM's port, when the client talks to a VM proxy
	log     *slog.Logger

	// login authenticates afresh on a throwaway provider and returns it
	// with the entry to cache.
	login func(ctx context.Context) (*gophercloud.ProviderClient, cacheEntry, error)
	cache *authCache // nil: no cache

	mu    sync.Mutex
	entry cacheEntry // what is cached (the extensions are added lazily)

	observer atomic.Pointer[Observer] // see Observe
}

// AuthURL is the identity endpoint the client authenticated against.
func (c *Client) AuthURL() string { return c.authURL }

// NetworkURL is the Neutron endpoint found in the catalog.
func (c *Client) NetworkURL() string { return c.net.Endpoint }

// ProjectID is the project the credentials are scoped to ("" if unknown).
func (c *Client) ProjectID() string { return c.project }

// Connect authenticates and finds the network endpoint. With
// o.CacheDir, a token and catalog cached by an earlier command for the same
// identity and secret are used without asking Keystone, until shortly
// before the token expires. A token the client obtained is renewed before
// it expires (see renewAhead); if Neutron refuses the token anyway (401),
// the client authenticates afresh once and retries.
func Connect(ctx context.Context, o Options, log *slog.Logger) (*Client, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ao, eo, byToken, err := authOptions(o, getenv)
	if err != nil {
		return nil, err
	}
	authURL := ao.IdentityEndpoint
	provider, err := openstack.NewClient(v3URL(authURL))
	if err != nil {
		return nil, fmt.Errorf("invalid auth URL %q: %w", authURL, err)
	}
	c := &Client{authURL: authURL, log: log, byToken: byToken}
	provider.HTTPClient = withRenewal(http.Client{Timeout: timeout, Transport: newTransport()}, c)
	c.cache, err = newAuthCache(o.CacheDir, first(ao.TokenID, ao.Password, ao.ApplicationCredentialSecret), identityParts(ao, eo)...)
	if err != nil {
		log.Warn("not caching the authentication", "err", err)
	}
	// The provider's own re-authentication is replaced by c.reauth.
	fresh := ao
	fresh.AllowReauth = false
	c.login = func(ctx context.Context) (*gophercloud.ProviderClient, cacheEntry, error) {
		p, err := openstack.NewClient(v3URL(authURL))
		if err != nil {
			return nil, cacheEntry{}, err
		}
		p.HTTPClient = provider.HTTPClient
		issued := time.Now()
		if err := openstack.AuthenticateV3(ctx, p, &fresh, gophercloud.EndpointOpts{}); err != nil {
			return nil, cacheEntry{}, authError(err, authURL, byToken)
		}
		e, err := authEntry(p, eo)
		if err != nil {
			return nil, cacheEntry{}, fmt.Errorf("finding Neutron in the catalog of %s: %w", authURL, err)
		}
		e.IssuedAt = issued
		if !byToken {
			e.Token = p.Token()
		}
		return p, e, nil
	}
	e, cached := c.cache.load(time.Now())
	if cached {
		tok := e.Token
		if byToken {
			tok = ao.TokenID
		}
		provider.SetToken(tok)
	} else {
		p, ne, err := c.login(ctx)
		if err != nil {
			return nil, err
		}
		provider.CopyTokenFrom(p)
		e = ne
		if err := c.cache.store(e); err != nil {
			log.Warn("caching the authentication failed", "err", err)
		}
	}
	provider.ReauthFunc = c.reauth(provider)
	c.provider = provider
	c.entry, c.project = e, e.ProjectID
	c.net = serviceClient(provider, e.NetworkURL)
	log.Debug("authenticated", "auth_url", authURL, "network_url", c.net.Endpoint, "by_token", byToken, "cached", cached)
	return c, nil
}

// reauth is the provider's ReauthFunc: called on a 401, it authenticates
// afresh (a cached token may have been revoked) and updates the cache.
func (c *Client) reauth(provider *gophercloud.ProviderClient) func(context.Context) error {
	return func(ctx context.Context) error {
		c.log.Debug("token refused by Neutron; authenticating again", "auth_url", c.authURL)
		p, e, err := c.login(ctx)
		if err != nil {
			c.cache.remove()
			return err
		}
		provider.CopyTokenFrom(p)
		c.mu.Lock()
		e.NetworkURL, e.Extensions = c.entry.NetworkURL, c.entry.Extensions
		c.entry = e
		c.mu.Unlock()
		if err := c.cache.store(e); err != nil {
			c.log.Warn("caching the authentication failed", "err", err)
		}
		return nil
	}
}

// identityParts name whom the credentials authenticate, for the cache's
// file name (never the secret).
func identityParts(ao gophercloud.AuthOptions, eo gophercloud.EndpointOpts) []string {
	parts := []string{v3URL(ao.IdentityEndpoint), ao.UserID, ao.Username, ao.DomainID, ao.DomainName,
		ao.TenantID, ao.TenantName, ao.ApplicationCredentialID, ao.ApplicationCredentialName, eo.Region, string(eo.Availability)}
	if s := ao.Scope; s != nil {
		parts = append(parts, s.ProjectID, s.ProjectName, s.DomainID, s.DomainName)
	}
	if ao.TokenID != "" {
		// A bare token is its own identity: the verifier (a hash of the
		// token) keeps one token's entry from serving another.
		parts = append(parts, "token")
	}
	return parts
}

// authEntry is what a fresh authentication tells: expiry, project and
// Neutron's endpoint.
func authEntry(p *gophercloud.ProviderClient, eo gophercloud.EndpointOpts) (cacheEntry, error) {
	var e cacheEntry
	r := p.GetAuthResult()
	if r, ok := r.(interface {
		ExtractProject() (*tokens.Project, error)
	}); ok {
		if pr, err := r.ExtractProject(); err == nil && pr != nil {
			e.ProjectID = pr.ID
		}
	}
	if r, ok := r.(interface {
		ExtractToken() (*tokens.Token, error)
	}); ok {
		if t, err := r.ExtractToken(); err == nil && t != nil {
			e.ExpiresAt = t.ExpiresAt
		}
	}
	u, err := networkURL(p, eo)
	if err != nil {
		return e, err
	}
	e.NetworkURL = u
	return e, nil
}

// authOptions turns Options and the environment into gophercloud options.
// byToken reports whether a bare token is used (for the error message).
func authOptions(o Options, getenv func(string) string) (ao gophercloud.AuthOptions, eo gophercloud.EndpointOpts, byToken bool, err error) {
	cloud := o.Cloud
	if cloud == "" {
		cloud = getenv("OS_CLOUD")
	}
	eo.Region = getenv("OS_REGION_NAME")
	if cloud != "" {
		ao, eo, _, err = clouds.Parse(clouds.WithCloudName(cloud))
		if err != nil {
			return ao, eo, false, fmt.Errorf("reading cloud %q from clouds.yaml: %w", cloud, err)
		}
	} else if o.Token == "" {
		if getenv("OS_AUTH_URL") == "" {
			return ao, eo, false, fmt.Errorf("%w: pass --cred TOKEN (or OVN_DOCKER_CRED, --cred-file) with OS_AUTH_URL, or set the OS_* variables, or --os-cloud", ErrNoCredentials)
		}
		ao, err = authOptionsFromEnv(getenv)
		if err != nil {
			return ao, eo, false, err
		}
		ao.AllowReauth = true
	}
	if o.Token != "" {
		url := ao.IdentityEndpoint
		if url == "" {
			url = getenv("OS_AUTH_URL")
		}
		if url == "" {
			return ao, eo, true, fmt.Errorf("%w: a token needs the identity endpoint: set OS_AUTH_URL or --os-cloud", ErrNoCredentials)
		}
		// The token replaces any password: it alone says who the caller is.
		ao = gophercloud.AuthOptions{IdentityEndpoint: url, TokenID: o.Token}
		return ao, eo, true, nil
	}
	if ao.IdentityEndpoint == "" {
		return ao, eo, false, fmt.Errorf("%w: no auth URL in cloud %q", ErrNoCredentials, cloud)
	}
	return ao, eo, false, nil
}

// authOptionsFromEnv reads the standard OS_* password variables.
func authOptionsFromEnv(getenv func(string) string) (gophercloud.AuthOptions, error) {
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: getenv("OS_AUTH_URL"),
		Username:         getenv("OS_USERNAME"),
		UserID:           getenv("OS_USERID"),
		Password:         getenv("OS_PASSWORD"),
		TenantID:         first(getenv("OS_PROJECT_ID"), getenv("OS_TENANT_ID")),
		TenantName:       first(getenv("OS_PROJECT_NAME"), getenv("OS_TENANT_NAME")),
		DomainID:         first(getenv("OS_USER_DOMAIN_ID"), getenv("OS_DOMAIN_ID")),
		DomainName:       first(getenv("OS_USER_DOMAIN_NAME"), getenv("OS_DOMAIN_NAME")),
	}
	if ao.Username == "" && ao.UserID == "" {
		return ao, fmt.Errorf("%w: OS_AUTH_URL is set but OS_USERNAME is not; pass --cred TOKEN or set OS_USERNAME and OS_PASSWORD", ErrNoCredentials)
	}
	if ao.Password == "" {
		return ao, fmt.Errorf("%w: OS_PASSWORD is not set", ErrNoCredentials)
	}
	if ao.TenantID != "" || ao.TenantName != "" {
		scope := &gophercloud.AuthScope{ProjectID: ao.TenantID, ProjectName: ao.TenantName}
		if scope.ProjectName != "" {
			scope.DomainID = first(getenv("OS_PROJECT_DOMAIN_ID"), ao.DomainID)
			scope.DomainName = first(getenv("OS_PROJECT_DOMAIN_NAME"), ao.DomainName)
			if scope.DomainID == "" && scope.DomainName == "" {
				scope.DomainName = "Default"
			}
		}
		ao.Scope = scope
	}
	if ao.Username != "" && ao.DomainID == "" && ao.DomainName == "" {
		ao.DomainName = "Default"
	}
	return ao, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// v3URL makes sure the identity URL names the v3 API, so no version
// discovery round trip is needed.
func v3URL(u string) string {
	t := strings.TrimRight(u, "/")
	if strings.HasSuffix(t, "/v3") {
		return t + "/"
	}
	return t + "/v3/"
}

func authError(err error, authURL string, byToken bool) error {
	switch {
	case gophercloud.ResponseCodeIs(err, http.StatusUnauthorized), gophercloud.ResponseCodeIs(err, http.StatusNotFound) && byToken:
		// Keystone answers 404 to GET /v3/auth/tokens for an unknown token.
		if byToken {
			return fmt.Errorf("%w: the token was refused by %s: get a new one with `openstack token issue`", ErrAuth, authURL)
		}
		return fmt.Errorf("%w: the credentials were refused by %s: check OS_USERNAME, OS_PASSWORD and the project (or the clouds.yaml entry)", ErrAuth, authURL)
	case isUnreachable(err):
		return fmt.Errorf("%w: cannot reach the identity service at %s (check OS_AUTH_URL and the network): %v", ErrUnreachable, authURL, rootCause(err))
	}
	return fmt.Errorf("authenticating at %s: %w", authURL, err)
}

// isUnreachable: the request did not get an HTTP answer (refused, DNS,
// timeout, TLS).
func isUnreachable(err error) bool {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return false
	}
	var uerr *url.Error
	var nerr net.Error
	return errors.As(err, &uerr) || errors.As(err, &nerr)
}

// rootCause drops the wrapping that repeats the URL.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// networkURL finds the network endpoint in the token's catalog. It does
// not ask the endpoint for its versions (gophercloud's locator would), so
// one round trip less and no dependence on version discovery: Neutron has
// had only v2.0 for a decade.
func networkURL(provider *gophercloud.ProviderClient, eo gophercloud.EndpointOpts) (string, error) {
	r, ok := provider.GetAuthResult().(interface {
		ExtractServiceCatalog() (*tokens.ServiceCatalog, error)
	})
	if !ok {
		return "", errors.New("no service catalog")
	}
	cat, err := r.ExtractServiceCatalog()
	if err != nil {
		return "", err
	}
	iface := string(eo.Availability)
	if iface == "" {
		iface = "public"
	}
	var urls []string
	for _, e := range cat.Entries {
		if e.Type != "network" {
			continue
		}
		for _, ep := range e.Endpoints {
			if strings.TrimSuffix(ep.Interface, "URL") == iface && (eo.Region == "" || ep.Region == eo.Region || ep.RegionID == eo.Region) {
				urls = append(urls, ep.URL)
			}
		}
	}
	if len(urls) == 0 {
		return "", fmt.Errorf("no %s network endpoint (region %q)", iface, eo.Region)
	}
	return gophercloud.NormalizeURL(strings.TrimSuffix(strings.TrimRight(urls[0], "/"), "/v2.0")), nil
}

func serviceClient(provider *gophercloud.ProviderClient, base string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: base, ResourceBase: base + "v2.0/", Type: "network"}
}

// DefaultTimeout bounds one Neutron or Keystone request. Real Neutron
// serialises the updates of one trunk: 16 concurrent add_subports on a VM's
// trunk took up to 40 s each, and a request given up on still completes
// there, so a short bound turns slow attaches into failed ones.
const DefaultTimeout = 2 * time.Minute
