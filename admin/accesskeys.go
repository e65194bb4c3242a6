package admin

import (
	"errors"
	"net/http"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func init() {
	handle("POST /ai/access-keys", createAccessKey)
	handle("GET /ai/access-keys", listAccessKeys)
	handle("GET /ai/access-keys/{id}", getAccessKey)
	handle("PATCH /ai/access-keys/{id}", updateAccessKey)
	handle("DELETE /ai/access-keys/{id}", deleteAccessKey)
	handle("POST /ai/access-keys/{id}/rotate", rotateAccessKey)
}

// accessKey is an access key as the API shows it (ngrok.ai field names).
type accessKey struct {
	ID                       string     `json:"id"`
	URI                      string     `json:"uri"`
	Name                     string     `json:"name"`
	Description              string     `json:"description"`
	Metadata                 string     `json:"metadata"`
	AccountID                string     `json:"accountId"`
	AccessKeyConfigurationID *string    `json:"accessKeyConfigurationId"`
	Disabled                 bool       `json:"disabled"`
	ExpiresAt                *time.Time `json:"expiresAt"`
	KeyRedacted              string     `json:"keyRedacted"`
	LastUsed                 *time.Time `json:"lastUsed"`
	PreviousTokenValidUntil  *time.Time `json:"previousTokenValidUntil,omitempty"`
	CreatedAt                time.Time  `json:"createdAt"`
	UpdatedAt                time.Time  `json:"updatedAt"`
	Token                    string     `json:"token,omitempty"`
}

func viewAccessKey(k *store.AccessKey) accessKey {
	v := accessKey{
		ID: k.ID, URI: "/ai/access-keys/" + k.ID, Name: k.Name, Description: k.Description,
		Metadata: k.Metadata, AccountID: k.AccountID, Disabled: k.Disabled, ExpiresAt: k.ExpiresAt,
		KeyRedacted: k.KeyRedacted, LastUsed: k.LastUsed, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt,
	}
	if k.PreviousValidUntil != nil && time.Now().Before(*k.PreviousValidUntil) {
		v.PreviousTokenValidUntil = k.PreviousValidUntil
	}
	if k.AccessKeyConfigurationID != "" {
		id := k.AccessKeyConfigurationID
		v.AccessKeyConfigurationID = &id
	}
	return v
}

func createAccessKey(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	p, err := readPatch(r)
	if err != nil {
		return err
	}
	k, token, err := app.Manage().CreateAccessKey(p)
	if err != nil {
		return storeError(err)
	}
	v := viewAccessKey(k)
	v.Token = token
	return writeJSON(w, http.StatusCreated, v)
}

func getAccessKey(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	k, err := app.Manage().AccessKey(r.PathValue("id"))
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, http.StatusOK, viewAccessKey(k))
}

func updateAccessKey(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	p, err := readPatch(r)
	if err != nil {
		return err
	}
	k, err := app.Manage().UpdateAccessKey(r.PathValue("id"), p)
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, http.StatusOK, viewAccessKey(k))
}

// rotateAccessKey issues a new token; body {"gracePeriod":"1h"} keeps the
// old one valid that long (default 0: it stops at once).
func rotateAccessKey(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	p, err := readPatch(r)
	if err != nil {
		return err
	}
	var grace manage.Duration
	if err := errors.Join(manage.Field(p, "gracePeriod", &grace), p.Done()); err != nil {
		return storeError(err)
	}
	k, token, err := app.Manage().RotateAccessKey(r.PathValue("id"), time.Duration(grace))
	if err != nil {
		return storeError(err)
	}
	v := viewAccessKey(k)
	v.Token = token
	return writeJSON(w, http.StatusOK, v)
}

func deleteAccessKey(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	if err := app.Manage().DeleteAccessKey(r.PathValue("id")); err != nil {
		return storeError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func listAccessKeys(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request) error {
	all, err := app.Manage().AccessKeys()
	if err != nil {
		return storeError(err)
	}
	views := make([]accessKey, len(all))
	for i, k := range all {
		views[i] = viewAccessKey(k)
	}
	return listPage(w, r, "accessKeys", "/ai/access-keys", views, func(v accessKey) string { return v.ID })
}
