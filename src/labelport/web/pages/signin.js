// Sign in with an API key: checked against /api/v1/me, then kept in session storage only.

import { get, signIn, signOut } from "../api.js";
import { errorBox, h } from "../dom.js";

export function showSignIn(app, next) {
  const input = h("input", {
    id: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "lp_...",
    required: true,
  });
  const message = h("div");
  const form = h(
    "form",
    { class: "card signin", onsubmit: submit },
    h("h1", {}, "Sign in"),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { class: "hint" }, "Kept in this tab's session storage and sent as the Authorization header. ",
      "Create one with `labelport keys create`."),
    h("button", { type: "submit" }, "Sign in"),
    message,
  );
  app.append(form);
  input.focus();

  async function submit(event) {
    event.preventDefault();
    message.replaceChildren();
    signIn(input.value);
    try {
      await get("/me");
    } catch (error) {
      signOut();
      message.append(errorBox(error));
      return;
    }
    location.hash = `#${next}`;
  }
}
