// chatjudge.go: a decision rule's question asked as a chat completion,
// served in process (the gateway answers it as a request of its own).

package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// maxJudgeAnswer bounds the body of a judging model's answer.
const maxJudgeAnswer = 1 << 20

// JudgeByChat answers q by asking its model: a chat completion request
// (POST /v1/chat/completions with ctx, the question of q.Prompt, 16
// tokens at temperature 0) handed to serve, whose answer is recorded in
// memory and read with ParseJudgeAnswer. Anything but a 200 with a
// choice is an error.
func JudgeByChat(ctx context.Context, q *JudgeQuery, serve func(http.ResponseWriter, *http.Request) error) (bool, error) {
	system, user := q.Prompt()
	body, err := json.Marshal(map[string]any{"model": q.Model, "max_tokens": 16, "temperature": 0,
		"messages": []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}}})
	if err != nil {
		return false, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	r.Header.Set("Content-Type", "application/json")
	w := &answerRecorder{header: http.Header{}, status: http.StatusOK}
	if err := serve(w, r); err != nil {
		return false, err
	}
	if w.status != http.StatusOK {
		return false, fmt.Errorf("the judging model %s answered %d: %.300s", q.Model, w.status, w.body.Bytes())
	}
	var answer struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(w.body.Bytes(), &answer); err != nil || len(answer.Choices) == 0 {
		return false, fmt.Errorf("the judging model %s gave no answer", q.Model)
	}
	return ParseJudgeAnswer(answer.Choices[0].Message.Content)
}

// answerRecorder is the http.ResponseWriter of a judging request.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (w *answerRecorder) Header() http.Header { return w.header }

func (w *answerRecorder) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
}

func (w *answerRecorder) Write(b []byte) (int, error) {
	w.wrote = true
	if w.body.Len()+len(b) > maxJudgeAnswer {
		return 0, errors.New("judge answer too large")
	}
	return w.body.Write(b)
}

var _ http.ResponseWriter = (*answerRecorder)(nil)
