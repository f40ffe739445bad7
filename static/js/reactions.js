// Reactions, pins, saved messages and link cards on the conversation page.

/** Called once by ConversationView's constructor. */
export function wireMessageExtras(view) {
  return view;
}
