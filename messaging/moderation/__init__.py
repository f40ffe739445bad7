"""Moderation and safeguarding: content filter rules, reports, blocks
between people, the moderation queue's actions (hide, restore, warn, mute,
deactivate), and limits per role. See docs/operations.md, "Moderation"."""
