"""The AI assistant ("Success Partner AI"): a bot member of conversations
that answers through an OpenAI-compatible chat-completions endpoint, and
summarises a member's unread messages on request
(docs/integrations/ai-assistant.md)."""
