"""End-to-end encrypted conversations: the server's half (docs/e2e.md).

The server stores device public keys, key envelopes and ciphertext; it never
holds a conversation key or a plaintext. The browser's half is in
``static/js/e2e/``."""
