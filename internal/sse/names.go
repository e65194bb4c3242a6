package sse

// knownNames holds the event names the supported APIs send, so Reader can
// return them without allocating even on a fresh Reader. It is read-only
// after package initialisation and therefore safe for concurrent lookups.
var knownNames = func() map[string]string {
	names := []string{
		// Anthropic Messages.
		"message_start", "message_delta", "message_stop",
		"content_block_start", "content_block_delta", "content_block_stop",
		"ping", "error",
		// OpenAI Responses.
		"response.created", "response.in_progress", "response.completed",
		"response.incomplete", "response.failed", "response.queued",
		"response.output_item.added", "response.output_item.done",
		"response.content_part.added", "response.content_part.done",
		"response.output_text.delta", "response.output_text.done",
		"response.output_text.annotation.added",
		"response.refusal.delta", "response.refusal.done",
		"response.function_call_arguments.delta", "response.function_call_arguments.done",
		"response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
		"response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
		"response.reasoning_text.delta", "response.reasoning_text.done",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}()
