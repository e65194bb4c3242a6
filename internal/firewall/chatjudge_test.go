package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestJudgeByChat(t *testing.T) {
	answer := func(content string) string {
		return `{"choices":[{"message":{"role":"assistant","content":` + string(quote(content)) + `}}]}`
	}
	writes := func(status int, bodies ...string) func(http.ResponseWriter, *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error {
			if status != 0 {
				w.WriteHeader(status)
			}
			for _, b := range bodies {
				_, _ = w.Write([]byte(b))
			}
			return nil
		}
	}
	tests := []struct {
		name  string
		serve func(http.ResponseWriter, *http.Request) error
		want  bool
		err   string // in the error text
	}{
		{"yes", writes(0, answer("YES")), true, ""},
		{"no, in two writes", writes(http.StatusOK, answer("No.")[:20], answer("No.")[20:]), false, ""},
		{"status after the body is ignored", func(w http.ResponseWriter, r *http.Request) error {
			_, _ = w.Write([]byte(answer("yes")))
			w.WriteHeader(http.StatusInternalServerError)
			return nil
		}, true, ""},
		{"unclear", writes(0, answer("maybe")), false, ErrUnclearAnswer.Error()},
		{"refused", writes(http.StatusTooManyRequests, `{"error":"slow down"}`), false, `the judging model judge-model answered 429: {"error":"slow down"}`},
		{"serve fails", func(http.ResponseWriter, *http.Request) error { return errors.New("boom") }, false, "boom"},
		{"not json", writes(0, "hello"), false, "the judging model judge-model gave no answer"},
		{"no choice", writes(0, `{"choices":[]}`), false, "gave no answer"},
		{"too large", writes(0, strings.Repeat(" ", maxJudgeAnswer+1)), false, "gave no answer"},
	}
	q := &JudgeQuery{Model: "judge-model", Instruction: "the call deletes data", Phase: PhaseResponse,
		Request: &Request{}, Call: &Call{Name: "delete_file", Arguments: "{}"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JudgeByChat(context.Background(), q, tt.serve)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// The question is a chat completion to the rule's model, with the
// caller's context.
func TestJudgeByChatRequest(t *testing.T) {
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "mark")
	q := &JudgeQuery{Model: "judge-model", Instruction: "the request is rude", Phase: PhaseRequest, Request: &Request{Text: []string{"hi"}}}
	system, user := q.Prompt()
	_, err := JudgeByChat(ctx, q, func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if r.Context().Value(ctxKey{}) != "mark" {
			t.Error("not the caller's context")
		}
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Model       string
			MaxTokens   int `json:"max_tokens"`
			Temperature *float64
			Messages    []struct{ Role, Content string }
		}
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Model != "judge-model" || body.MaxTokens != 16 || body.Temperature == nil || *body.Temperature != 0 ||
			len(body.Messages) != 2 || body.Messages[0].Role != "system" || body.Messages[0].Content != system ||
			body.Messages[1].Role != "user" || body.Messages[1].Content != user {
			t.Errorf("body %s", b)
		}
		_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"NO"}}]}`))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
