package admin

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

// listPage writes a collection page the ngrok.ai way: newest first (ids
// are time-ordered), ?limit= (1–100, default 100) and ?beforeId= for the
// next page, `nextPageUri` null on the last page.
func listPage[T any](w http.ResponseWriter, r *http.Request, name, uri string, items []T, id func(T) string) error {
	limit, beforeID, err := paging(r)
	if err != nil {
		return err
	}
	sort.SliceStable(items, func(i, j int) bool { return id(items[i]) > id(items[j]) })
	out := make([]T, 0, min(limit, len(items)))
	var next *string
	for _, it := range items {
		if beforeID != "" && id(it) >= beforeID {
			continue
		}
		if len(out) == limit {
			u := uri + "?limit=" + strconv.Itoa(limit) + "&beforeId=" + url.QueryEscape(id(out[len(out)-1]))
			next = &u
			break
		}
		out = append(out, it)
	}
	return writeJSON(w, http.StatusOK, map[string]any{name: out, "uri": uri, "nextPageUri": next})
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
