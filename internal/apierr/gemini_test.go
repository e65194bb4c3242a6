package apierr

import (
	"net/http/httptest"
	"testing"
)

func TestGeminiShape(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{New(400, InvalidRequest, "bad"), `{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"invalid_request","domain":"ai-gateway"}]}}`},
		{New(401, InvalidAccessKey, "no"), `{"error":{"code":401,"message":"no","status":"UNAUTHENTICATED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"invalid_access_key","domain":"ai-gateway"}]}}`},
		{New(402, InsufficientCredits, "pay"), `{"error":{"code":402,"message":"pay","status":"FAILED_PRECONDITION","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"insufficient_credits","domain":"ai-gateway"}]}}`},
		{New(404, NotFound, "x"), `{"error":{"code":404,"message":"x","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"not_found","domain":"ai-gateway"}]}}`},
	} {
		rec := httptest.NewRecorder()
		Write(rec, Gemini, tc.err)
		if rec.Code != tc.err.Status || rec.Body.String() != tc.want {
			t.Errorf("%d %s\nwant %s", rec.Code, rec.Body, tc.want)
		}
	}
	for status, want := range map[int]string{403: "PERMISSION_DENIED", 413: "INVALID_ARGUMENT", 422: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED",
		500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"} {
		if got := GeminiStatus(status); got != want {
			t.Errorf("GeminiStatus(%d) = %s, want %s", status, got, want)
		}
	}
}
