// Accounts (000 §2.1, 004 §1-2): register, confirm the address, forgotten password,
// the forced change of a generic password at first login (logging in is login.js).
"use strict";

import {app, applyPreferences, navigate, refreshMe, requireLogin} from "../app.js";
import {post} from "../api.js";
import {h} from "../dom.js";
import {field, form, say, showErrors, values} from "../forms.js";
import {language, t} from "../i18n.js";
import {resendButton} from "./login.js";

function tokenFromFragment() {
  return new URLSearchParams(location.hash.slice(1)).get("token");
}

export async function register() {
  const fields = [
    field({name: "name", label: t("register.name"), required: true, autocomplete: "name"}),
    field({name: "email", label: t("register.email"), type: "email", required: true, autocomplete: "email"}),
    field({name: "password", label: t("register.password"), type: "password", required: true,
           autocomplete: "new-password", hint: t("register.password_hint")}),
    field({name: "phone", label: t("register.phone"), type: "tel", autocomplete: "tel"}),
  ];
  const done = h("div", {class: "done", hidden: true});
  const element = form({
    label: t("register.title"), fields, submit: t("register.submit"),
    onSubmit: async (target) => {
      const body = {...values(target), language: language()};
      if (!body.phone) delete body.phone;
      const response = await post("/api/v1/auth/register", body);
      if (!response.ok) return showErrors(target, response.data);
      target.hidden = true;
      done.hidden = false;
      done.replaceChildren(
        h("p", {class: "notice", tabindex: "-1"}, t("register.sent", {email: body.email})),
        h("p", {}, t("register.check_spam")),
        h("p", {}, resendButton(() => body.email)));
      done.firstChild.focus();
    },
  });
  return {title: t("register.title"), content: [
    h("h1", {}, t("register.title")), h("p", {}, t("register.intro")), element, done,
    h("p", {}, t("register.have_account"), " ", h("a", {href: "/login"}, t("nav.login")))]};
}

export async function verifyEmail() {
  const token = tokenFromFragment();
  const result = h("div", {role: "status"});
  const content = [h("h1", {}, t("verify.title")), result];
  if (!token) {
    result.append(h("p", {class: "error"}, t("link.incomplete")));
    return {title: t("verify.title"), content};
  }
  const response = await post("/api/v1/auth/verify-email", {token});
  history.replaceState({}, "", "/verify-email"); // the token has done its work: off the address bar
  if (response.ok && response.data.token) {
    await refreshMe();
    await applyPreferences();
    result.append(h("p", {class: "notice"}, t("verify.welcome", {name: app.me ? app.me.name : ""})),
      h("p", {}, h("a", {href: "/tickets/new", class: "button primary"}, t("nav.new_ticket")), " ",
        h("a", {href: "/tickets", class: "button"}, t("nav.my_tickets"))));
  } else if (response.ok) {
    result.append(h("p", {class: "notice"}, t("verify.changed", {email: response.data.email})),
      h("p", {}, h("a", {href: app.me ? "/profile" : "/login"}, app.me ? t("nav.profile") : t("nav.login"))));
  } else {
    result.append(h("p", {class: "error"}, response.data.message),
      h("p", {}, t("verify.failed_help")), loginLink());
  }
  return {title: t("verify.title"), content};
}

function loginLink() {
  return h("p", {}, h("a", {href: "/login"}, t("nav.login")), " | ", h("a", {href: "/register"}, t("nav.register")));
}

export async function forgotPassword() {
  const email = field({name: "email", label: t("login.email"), type: "email", required: true, autocomplete: "email"});
  const element = form({
    label: t("forgot.title"), fields: [email], submit: t("forgot.submit"),
    onSubmit: async (target) => {
      const response = await post("/api/v1/auth/forgot-password", values(target));
      if (!response.ok) return showErrors(target, response.data);
      say(target, t("forgot.sent", {email: email.control.value}));
    },
  });
  return {title: t("forgot.title"), content: [h("h1", {}, t("forgot.title")), h("p", {}, t("forgot.intro")), element]};
}

let pendingReset = ""; // the mailed token, kept in memory only, off the address bar

export async function resetPassword() {
  pendingReset = tokenFromFragment() || pendingReset;
  history.replaceState({}, "", "/reset-password");
  const password = field({name: "password", label: t("reset.password"), type: "password", required: true,
                          autocomplete: "new-password", hint: t("register.password_hint")});
  const done = h("p", {class: "notice", hidden: true, tabindex: "-1"});
  const element = form({
    label: t("reset.title"), fields: [password], submit: t("reset.submit"),
    onSubmit: async (target) => {
      const response = await post("/api/v1/auth/reset-password",
                                  {token: pendingReset, password: password.control.value});
      if (!response.ok) return showErrors(target, response.data);
      pendingReset = "";
      target.hidden = true;
      done.hidden = false;
      done.replaceChildren(t("reset.done"), " ", h("a", {href: "/login"}, t("nav.login")));
      done.focus();
    },
  });
  return {title: t("reset.title"), content: [h("h1", {}, t("reset.title")), element, done]};
}

/** 004 §1: the generic password given by staff must be changed before anything else. */
export async function changePassword() {
  if (!requireLogin()) return null;
  const forced = app.me.must_change_password;
  const fields = [
    field({name: "current_password", label: t(forced ? "password.generic" : "password.current"), type: "password",
           required: true, autocomplete: "current-password"}),
    field({name: "new_password", label: t("password.new"), type: "password", required: true,
           autocomplete: "new-password", hint: t("register.password_hint")}),
  ];
  const element = form({
    label: t("password.title"), fields, submit: t("password.submit"),
    onSubmit: async (target) => {
      const response = await post("/api/v1/me/password", values(target));
      if (!response.ok) return showErrors(target, response.data);
      await refreshMe();
      app.flash = t("password.done");
      navigate("/profile");
    },
  });
  return {title: t("password.title"), content: [
    h("h1", {}, t("password.title")),
    forced ? h("p", {class: "notice"}, t("password.forced")) : null,
    element]};
}
