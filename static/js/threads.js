// Replies and threads on the conversation page: the quote above a reply, the
// thread summary under a root, the thread side panel and its composer.

/** Called once by ConversationView's constructor. */
export function wireThreads(view) {
  return view;
}
