// JSON requests to the REST API (docs/api.md) with the page's session and
// CSRF token; a refusal throws ApiError with the API's error code.

import { csrfToken } from "../uploads.js";
import { gettext } from "../i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || gettext("the request failed"));
    this.status = status;
    this.code = error.code || String(status);
    this.body = error;
  }
}

export async function api(method, path, body = undefined) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/${path}`, {
      method, credentials: "same-origin", headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { error: { code: "network", message: gettext("The connection failed. Try again.") } });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
