package translate

import "testing"

func TestErrorToChat(t *testing.T) {
	tests := []struct {
		status int
		in     string
		want   string
	}{
		{429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`,
			`{"error":{"message":"Number of request tokens has exceeded your per-minute rate limit","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`},
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}`,
			`{"error":{"message":"prompt is too long: 208310 tokens > 200000 maximum","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}`},
		{401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			`{"error":{"message":"invalid x-api-key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`},
		{404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}`,
			`{"error":{"message":"model: claude-9","type":"invalid_request_error","param":null,"code":"model_not_found"}}`},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			`{"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}`},
		{402, `{"type":"error","error":{"type":"billing_error","message":"Your credit balance is too low"}}`,
			`{"error":{"message":"Your credit balance is too low","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},
		{502, `<html><body>Bad Gateway</body></html>`,
			`{"error":{"message":"Bad Gateway","type":"server_error","param":null,"code":"api_error"}}`},
		{503, `upstream connect error or disconnect/reset before headers`,
			`{"error":{"message":"upstream connect error or disconnect/reset before headers","type":"server_error","param":null,"code":"overloaded_error"}}`},
	}
	for _, tt := range tests {
		jsonEqual(t, ErrorToChat(tt.status, []byte(tt.in)), tt.want)
	}
}

func TestErrorToMessages(t *testing.T) {
	tests := []struct {
		status int
		in     string
		want   string
	}{
		{429, `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			`{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1."}}`},
		{429, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			`{"type":"error","error":{"type":"billing_error","message":"You exceeded your current quota, please check your plan and billing details."}}`},
		{400, `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"This model's maximum context length is 128000 tokens."}}`},
		{401, `{"error":{"message":"Incorrect API key provided: sk-pr*****abcd.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			`{"type":"error","error":{"type":"authentication_error","message":"Incorrect API key provided: sk-pr*****abcd."}}`},
		{404, `{"error":"model \"llama9\" not found, try pulling it first"}`,
			`{"type":"error","error":{"type":"not_found_error","message":"model \"llama9\" not found, try pulling it first"}}`},
		{422, `{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"[{\"loc\":[\"body\",\"messages\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"}]"}}`},
		{500, `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`,
			`{"type":"error","error":{"type":"api_error","message":"The server had an error while processing your request. Sorry about that!"}}`},
		{503, ``, `{"type":"error","error":{"type":"overloaded_error","message":"Service Unavailable"}}`},
	}
	for _, tt := range tests {
		jsonEqual(t, ErrorToMessages(tt.status, []byte(tt.in)), tt.want)
	}
}
