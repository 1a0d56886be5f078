package dockerdriver

// Request and response bodies, with the field names Docker's engine uses.

// IPAMData is one address pool of a network as the engine gives it to
// CreateNetwork.
type IPAMData struct {
	AddressSpace string
	Pool         string
	Gateway      string
	AuxAddresses map[string]any
}

// CreateNetworkRequest: `docker network create`. Options holds the
// `-o` options under OptionGeneric.
type CreateNetworkRequest struct {
	NetworkID string
	Options   map[string]any
	IPv4Data  []IPAMData
	IPv6Data  []IPAMData
}

// Option keys the engine uses.
const (
	OptionGeneric    = "com.docker.network.generic"
	OptionEnableIPv6 = "com.docker.network.enable_ipv6"
	OptionMTU        = "com.docker.network.driver.mtu"
	// OptionRequestAddressType is set on the engine's request for a
	// network's gateway address.
	OptionRequestAddressType = "RequestAddressType"
	// GatewayAddressType is its value then; it is also the key of the
	// gateway in RequestPool's Data.
	GatewayAddressType = "com.docker.network.gateway"
)

// DeleteNetworkRequest: `docker network rm`.
type DeleteNetworkRequest struct {
	NetworkID string
}

// EndpointInterface is the interface of an endpoint: what the engine
// knows of it (CreateEndpoint's request) or what the driver adds (its
// response: only fields the request left empty).
type EndpointInterface struct {
	Address     string `json:",omitempty"`
	AddressIPv6 string `json:",omitempty"`
	MacAddress  string `json:",omitempty"`
}

// CreateEndpointRequest: an endpoint (a container's interface) on a network.
type CreateEndpointRequest struct {
	NetworkID  string
	EndpointID string
	Interface  *EndpointInterface
	Options    map[string]any
}

// CreateEndpointResponse: Interface is nil when the driver adds nothing.
type CreateEndpointResponse struct {
	Interface *EndpointInterface
}

// DeleteEndpointRequest ends an endpoint.
type DeleteEndpointRequest struct {
	NetworkID  string
	EndpointID string
}

// EndpointInfoRequest asks what `docker inspect` shows of an endpoint.
type EndpointInfoRequest struct {
	NetworkID  string
	EndpointID string
}

// EndpointInfoResponse is free-form.
type EndpointInfoResponse struct {
	Value map[string]any
}

// JoinRequest puts an endpoint into a container's sandbox.
type JoinRequest struct {
	NetworkID  string
	EndpointID string
	SandboxKey string
	Options    map[string]any
}

// InterfaceName: the engine moves the link SrcName into the sandbox and
// names it DstPrefix plus a number.
type InterfaceName struct {
	SrcName   string
	DstPrefix string
}

// StaticRoute is a route the engine adds in the sandbox.
type StaticRoute struct {
	Destination string
	RouteType   int // 0: via NextHop, 1: on link
	NextHop     string
}

// JoinResponse tells the engine which link to move and how to route.
type JoinResponse struct {
	InterfaceName         InterfaceName
	Gateway               string
	GatewayIPv6           string
	StaticRoutes          []StaticRoute
	DisableGatewayService bool
}

// LeaveRequest takes an endpoint out of its sandbox.
type LeaveRequest struct {
	NetworkID  string
	EndpointID string
}

// RequestPoolRequest: `docker network create`'s --subnet (Pool) and
// --ipam-opt (Options).
type RequestPoolRequest struct {
	AddressSpace string
	Pool         string
	SubPool      string
	Options      map[string]string
	V6           bool
}

// RequestPoolResponse: Data may carry the gateway (GatewayAddressType,
// an address with prefix length), which spares a RequestAddress.
type RequestPoolResponse struct {
	PoolID string
	Pool   string
	Data   map[string]string
}

// ReleasePoolRequest: the network is gone.
type ReleasePoolRequest struct {
	PoolID string
}

// RequestAddressRequest: an address from a pool; Address is the one asked
// for (`--ip`), if any.
type RequestAddressRequest struct {
	PoolID  string
	Address string
	Options map[string]string
}

// RequestAddressResponse: Address with prefix length.
type RequestAddressResponse struct {
	Address string
	Data    map[string]string
}

// ReleaseAddressRequest gives an address back.
type ReleaseAddressRequest struct {
	PoolID  string
	Address string
}
