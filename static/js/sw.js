// Parley's service worker, served from /sw.js so that it controls every
// page. It only shows push notifications (notifications/services/push.py
// sends them) and opens Parley on a click; it caches nothing.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (_) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const title = data.title || "Parley";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: data.body || "",
      // One notification per conversation: a burst replaces, not piles up.
      tag: data.tag || "parley",
      renotify: Boolean(data.tag),
      icon: "/static/img/parley.svg",
      data: { url: data.url || "/", conversation_id: data.conversation_id || null },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      // A tab already on that page comes forward; else any Parley tab goes
      // there; else a new one opens.
      const exact = windows.find((client) => new URL(client.url).pathname === target.pathname);
      if (exact) return exact.focus();
      const any = windows.find((client) => new URL(client.url).origin === target.origin);
      if (any && "navigate" in any) {
        const navigated = await any.navigate(target.href);
        return (navigated || any).focus();
      }
      return self.clients.openWindow(target.href);
    })(),
  );
});
