package admin

import (
	"net/http"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
)

// The simple resources: accounts, access key configurations, API keys,
// virtual models and firewall policies. Each is shown as stored plus its `uri`.
func init() {
	handle("POST /ai/accounts", create(func(s *manage.Service, p manage.Patch) (any, error) {
		v, err := s.CreateAccount(p)
		return viewAccount(v), err
	}))
	handle("GET /ai/accounts", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		return listPage(w, r, "accounts", "/ai/accounts", mapViews(a.Manage().Accounts(), viewAccount), idOf[account])
	})
	handle("GET /ai/accounts/{id}", get(func(s *manage.Service, id string) (any, error) {
		v, err := s.Account(id)
		return viewAccount(v), err
	}))
	handle("PATCH /ai/accounts/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		v, err := s.UpdateAccount(id, p)
		return viewAccount(v), err
	}))
	handle("DELETE /ai/accounts/{id}", remove((*manage.Service).DeleteAccount))

	handle("POST /ai/access-key-configurations", create(func(s *manage.Service, p manage.Patch) (any, error) {
		v, err := s.CreateConfiguration(p)
		return viewConfiguration(v), err
	}))
	handle("GET /ai/access-key-configurations", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		return listPage(w, r, "accessKeyConfigurations", "/ai/access-key-configurations", mapViews(a.Manage().Configurations(), viewConfiguration), idOf[configuration])
	})
	handle("GET /ai/access-key-configurations/{id}", get(func(s *manage.Service, id string) (any, error) {
		v, err := s.Configuration(id)
		return viewConfiguration(v), err
	}))
	handle("PATCH /ai/access-key-configurations/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		v, err := s.UpdateConfiguration(id, p)
		return viewConfiguration(v), err
	}))
	handle("DELETE /ai/access-key-configurations/{id}", remove((*manage.Service).DeleteConfiguration))

	handle("POST /ai/api-keys", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		p, err := readPatch(r)
		if err != nil {
			return err
		}
		k, token, err := a.Manage().CreateAPIKey(p)
		if err != nil {
			return storeError(err)
		}
		v := viewAPIKey(k)
		v.Token = token
		return writeJSON(w, http.StatusCreated, v)
	})
	handle("GET /ai/api-keys", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		return listPage(w, r, "apiKeys", "/ai/api-keys", mapViews(a.Manage().APIKeys(), viewAPIKey), func(v apiKey) string { return v.ID })
	})
	handle("GET /ai/api-keys/{id}", get(func(s *manage.Service, id string) (any, error) {
		k, err := s.APIKey(id)
		return viewAPIKey(k), err
	}))
	handle("PATCH /ai/api-keys/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		k, err := s.UpdateAPIKey(id, p)
		return viewAPIKey(k), err
	}))
	handle("DELETE /ai/api-keys/{id}", remove((*manage.Service).DeleteAPIKey))

	handle("POST /ai/virtual-models", create(func(s *manage.Service, p manage.Patch) (any, error) {
		v, err := s.CreateVirtualModel(p)
		return viewVirtualModel(v), err
	}))
	handle("GET /ai/virtual-models", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		return listPage(w, r, "virtualModels", "/ai/virtual-models", mapViews(a.Manage().VirtualModels(), viewVirtualModel), idOf[virtualModel])
	})
	handle("GET /ai/virtual-models/{id}", get(func(s *manage.Service, id string) (any, error) {
		v, err := s.VirtualModel(id)
		return viewVirtualModel(v), err
	}))
	handle("PATCH /ai/virtual-models/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		v, err := s.UpdateVirtualModel(id, p)
		return viewVirtualModel(v), err
	}))
	handle("DELETE /ai/virtual-models/{id}", remove((*manage.Service).DeleteVirtualModel))

	handle("POST /ai/firewall-policies", create(func(s *manage.Service, p manage.Patch) (any, error) {
		v, err := s.CreateFirewallPolicy(p)
		return viewFirewallPolicy(v), err
	}))
	handle("GET /ai/firewall-policies", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		return listPage(w, r, "firewallPolicies", "/ai/firewall-policies", mapViews(a.Manage().FirewallPolicies(), viewFirewallPolicy), idOf[firewallPolicy])
	})
	handle("GET /ai/firewall-policies/{id}", get(func(s *manage.Service, id string) (any, error) {
		v, err := s.FirewallPolicy(id)
		return viewFirewallPolicy(v), err
	}))
	handle("PATCH /ai/firewall-policies/{id}", update(func(s *manage.Service, id string, p manage.Patch) (any, error) {
		v, err := s.UpdateFirewallPolicy(id, p)
		return viewFirewallPolicy(v), err
	}))
	handle("DELETE /ai/firewall-policies/{id}", remove((*manage.Service).DeleteFirewallPolicy))

	handle("GET /ai/gateway-config", func(a *caddyaigateway.App, w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, http.StatusOK, viewGatewayConfig(a, a.Manage().GatewayConfig()))
	})
	handle("PATCH /ai/gateway-config", func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		p, err := readPatch(r)
		if err != nil {
			return err
		}
		c, err := a.Manage().UpdateGatewayConfig(p)
		if err != nil {
			return storeError(err)
		}
		return writeJSON(w, http.StatusOK, viewGatewayConfig(a, c))
	})
}

// Generic handlers: each takes the domain call and renders its result.

func create(fn func(*manage.Service, manage.Patch) (any, error)) handler {
	return func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		p, err := readPatch(r)
		if err != nil {
			return err
		}
		v, err := fn(a.Manage(), p)
		if err != nil {
			return storeError(err)
		}
		return writeJSON(w, http.StatusCreated, v)
	}
}

func get(fn func(*manage.Service, string) (any, error)) handler {
	return func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		v, err := fn(a.Manage(), r.PathValue("id"))
		if err != nil {
			return storeError(err)
		}
		return writeJSON(w, http.StatusOK, v)
	}
}

func update(fn func(*manage.Service, string, manage.Patch) (any, error)) handler {
	return func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		p, err := readPatch(r)
		if err != nil {
			return err
		}
		v, err := fn(a.Manage(), r.PathValue("id"), p)
		if err != nil {
			return storeError(err)
		}
		return writeJSON(w, http.StatusOK, v)
	}
}

func remove(fn func(*manage.Service, string) error) handler {
	return func(a *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
		if err := fn(a.Manage(), r.PathValue("id")); err != nil {
			return storeError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func mapViews[T, V any](items []T, view func(T) V) []V {
	out := make([]V, len(items))
	for i, it := range items {
		out[i] = view(it)
	}
	return out
}

// identified is a view with an id.
type identified interface{ getID() string }

func idOf[T identified](v T) string { return v.getID() }

type account struct {
	URI string `json:"uri"`
	*manage.Account
}

func (v account) getID() string { return v.ID }

func viewAccount(a *manage.Account) account {
	if a == nil {
		return account{}
	}
	return account{URI: "/ai/accounts/" + a.ID, Account: a}
}

type configuration struct {
	URI string `json:"uri"`
	*manage.AccessKeyConfiguration
}

func (v configuration) getID() string { return v.ID }

func viewConfiguration(c *manage.AccessKeyConfiguration) configuration {
	if c == nil {
		return configuration{}
	}
	if c.ModelSelection == nil {
		cc := *c
		cc.ModelSelection = []string{}
		c = &cc
	}
	return configuration{URI: "/ai/access-key-configurations/" + c.ID, AccessKeyConfiguration: c}
}

type virtualModel struct {
	URI string `json:"uri"`
	*manage.VirtualModel
}

func (v virtualModel) getID() string { return v.ID }

func viewVirtualModel(vm *manage.VirtualModel) virtualModel {
	if vm == nil {
		return virtualModel{}
	}
	return virtualModel{URI: "/ai/virtual-models/" + vm.ID, VirtualModel: vm}
}

type firewallPolicy struct {
	URI string `json:"uri"`
	*manage.FirewallPolicy
}

func (v firewallPolicy) getID() string { return v.ID }

func viewFirewallPolicy(fp *manage.FirewallPolicy) firewallPolicy {
	if fp == nil {
		return firewallPolicy{}
	}
	return firewallPolicy{URI: "/ai/firewall-policies/" + fp.ID, FirewallPolicy: fp}
}

type apiKey struct {
	ID          string     `json:"id"`
	URI         string     `json:"uri"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Metadata    string     `json:"metadata"`
	KeyRedacted string     `json:"keyRedacted"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	LastUsed    *time.Time `json:"lastUsed"`
	Token       string     `json:"token,omitempty"`
}

func viewAPIKey(k *manage.APIKey) apiKey {
	if k == nil {
		return apiKey{}
	}
	return apiKey{ID: k.ID, URI: "/ai/api-keys/" + k.ID, Name: k.Name, Description: k.Description, Metadata: k.Metadata,
		KeyRedacted: k.KeyRedacted, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt, LastUsed: k.LastUsed}
}

// gatewayConfig shows the stored settings and what is in effect.
type gatewayConfig struct {
	URI string `json:"uri"`
	manage.GatewayConfig
	Effective map[string]any `json:"effective"`
}

func viewGatewayConfig(a *caddyaigateway.App, c manage.GatewayConfig) gatewayConfig {
	per, total := a.EffectiveTimeouts()
	return gatewayConfig{URI: "/ai/gateway-config", GatewayConfig: c, Effective: map[string]any{
		"perRequestTimeout": manage.Duration(per), "totalTimeout": manage.Duration(total),
	}}
}
