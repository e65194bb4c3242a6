package admin

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	caddyaigateway "github.com/caddy-ai-gateway/caddy-ai-gateway/caddyaiGateway"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func init() {
	register(
		route{http.MethodPost, "/ai/access-keys", createAccessKey},
		route{http.MethodGet, "/ai/access-keys", listAccessKeys},
		route{http.MethodGet, "/ai/access-keys/{id}", getAccessKey},
		route{http.MethodDelete, "/ai/access-keys/{id}", deleteAccessKey},
	)
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
	if k.AccessKeyConfigurationID != "" {
		id := k.AccessKeyConfigurationID
		v.AccessKeyConfigurationID = &id
	}
	return v
}

type accessKeyCreate struct {
	Name                     string     `json:"name"`
	Description              string     `json:"description"`
	Metadata                 string     `json:"metadata"`
	AccountID                string     `json:"accountId"`
	AccessKeyConfigurationID string     `json:"accessKeyConfigurationId"`
	Disabled                 bool       `json:"disabled"`
	ExpiresAt                *time.Time `json:"expiresAt"`
}

func createAccessKey(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request, _ []string) error {
	var in accessKeyCreate
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(time.Now()) {
		return apiError(http.StatusBadRequest, "expiresAt: must be in the future")
	}
	k, token, err := app.CreateAccessKey(caddyaigateway.AccessKeyInput{
		Name: in.Name, Description: in.Description, Metadata: in.Metadata, AccountID: in.AccountID,
		AccessKeyConfigurationID: in.AccessKeyConfigurationID, Disabled: in.Disabled, ExpiresAt: in.ExpiresAt,
	})
	if err != nil {
		return storeError(err)
	}
	v := viewAccessKey(k)
	v.Token = token
	return writeJSON(w, http.StatusCreated, v)
}

func getAccessKey(app *caddyaigateway.App, w http.ResponseWriter, _ *http.Request, p []string) error {
	k, err := app.AccessKey(p[0])
	if err != nil {
		return storeError(err)
	}
	return writeJSON(w, http.StatusOK, viewAccessKey(k))
}

func deleteAccessKey(app *caddyaigateway.App, w http.ResponseWriter, _ *http.Request, p []string) error {
	if err := app.DeleteAccessKey(p[0]); err != nil {
		return storeError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAccessKeys lists newest first; ?limit= (1–100, default 100) and
// ?beforeId= page through older keys.
func listAccessKeys(app *caddyaigateway.App, w http.ResponseWriter, r *http.Request, _ []string) error {
	limit, beforeID, err := paging(r)
	if err != nil {
		return err
	}
	all, err := app.AccessKeys()
	if err != nil {
		return storeError(err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID > all[j].ID })
	out := make([]accessKey, 0, limit)
	var next *string
	for _, k := range all {
		if beforeID != "" && k.ID >= beforeID {
			continue
		}
		if len(out) == limit {
			u := "/ai/access-keys?limit=" + strconv.Itoa(limit) + "&beforeId=" + out[len(out)-1].ID
			next = &u
			break
		}
		out = append(out, viewAccessKey(k))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"accessKeys": out, "uri": "/ai/access-keys", "nextPageUri": next})
}

func paging(r *http.Request) (limit int, beforeID string, err error) {
	limit = 100
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 || n > 100 {
			return 0, "", apiError(http.StatusBadRequest, "limit: must be a number from 1 to 100")
		}
		limit = n
	}
	return limit, q.Get("beforeId"), nil
}
