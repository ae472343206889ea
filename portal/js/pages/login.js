// Logging in (000 §2.1, 004 §1): the manual's login box, at /login and on the pages that offer
// it (the home page, a ticket's page opened from a mail). Its own small module: every visitor
// loads it, the other account pages (accounts.js) only those who use them.
"use strict";

import {app, applyPreferences, navigate, nextPath, refreshMe} from "../app.js";
import {post} from "../api.js";
import {h} from "../dom.js";
import {field, form, showErrors, values} from "../forms.js";
import {t} from "../i18n.js";

/** The manual's login box (Usuario / Clave / Ingreso); used on the home page and at /login. */
export function loginForm() {
  const email = field({name: "email", label: t("login.email"), type: "email", required: true, autocomplete: "username"});
  const password = field({name: "password", label: t("login.password"), type: "password", required: true,
                          autocomplete: "current-password"});
  const resend = h("div", {class: "resend", hidden: true});
  const element = form({
    label: t("login.title"), fields: [email, password], submit: t("login.submit"), extra: [resend],
    onSubmit: async (target) => {
      const response = await post("/api/v1/auth/login", values(target));
      if (response.ok) {
        await refreshMe();
        await applyPreferences();
        navigate(app.me.must_change_password ? "/password" : nextPath());
        return;
      }
      showErrors(target, response.data);
      if (response.data.error === "email_not_verified") {
        resend.hidden = false;
        resend.replaceChildren(resendButton(() => email.control.value));
      }
    },
  });
  return h("div", {class: "login-box"}, element,
    h("p", {class: "login-links"}, h("a", {href: "/register"}, t("login.register")), " | ",
      h("a", {href: "/forgot-password"}, t("login.forgot"))));
}

export function resendButton(address) {
  const status = h("span", {role: "status"});
  const button = h("button", {type: "button", class: "secondary", onclick: async () => {
    const response = await post("/api/v1/auth/resend-verification", {email: address()});
    status.textContent = response.ok ? t("register.resent") : response.data.message;
  }}, t("register.resend"));
  return [button, " ", status];
}

export async function login() {
  if (app.me) {
    navigate(app.me.must_change_password ? "/password" : nextPath(), {replace: true});
    return null;
  }
  return {title: t("login.title"), content: [h("h1", {}, t("login.title")), loginForm()]};
}
