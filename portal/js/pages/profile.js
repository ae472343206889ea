// The profile (004 §2): name, phone, language, time zone; the address (changed once the new one
// is confirmed); the password.
"use strict";

import {app, applyPreferences, chooseLanguage, requireLogin} from "../app.js";
import {patch, post} from "../api.js";
import {h} from "../dom.js";
import {field, form, say, showErrors, values} from "../forms.js";
import {t} from "../i18n.js";

const ZONES = ["Europe/Madrid", "Atlantic/Canary", "Europe/Lisbon", "Europe/London", "Europe/Paris",
               "America/New_York", "America/Mexico_City", "America/Bogota", "America/Argentina/Buenos_Aires", "UTC"];

export async function render() {
  if (!requireLogin()) return null;
  const me = app.me;
  const flash = app.flash;
  app.flash = null;
  const zones = ZONES.includes(me.time_zone) || !me.time_zone ? ZONES : [me.time_zone, ...ZONES];
  const details = form({
    label: t("profile.details"),
    fields: [
      field({name: "name", label: t("register.name"), required: true, value: me.name, autocomplete: "name"}),
      field({name: "phone", label: t("register.phone"), type: "tel", value: me.phone || "", autocomplete: "tel"}),
      field({name: "language", label: t("language.label"), type: "select", value: me.language,
             options: [["es", t("language.es")], ["en", t("language.en")]]}),
      field({name: "time_zone", label: t("profile.time_zone"), type: "select",
             value: me.time_zone || app.site.time_zone, options: zones.map((zone) => [zone, zone.replaceAll("_", " ")])}),
    ],
    submit: t("profile.save"),
    onSubmit: async (target) => {
      const body = values(target);
      body.phone = body.phone.trim() || null;
      const response = await patch("/api/v1/me", body);
      if (!response.ok) return showErrors(target, response.data);
      app.me = {...app.me, ...response.data};
      const languageChanged = document.documentElement.lang !== app.me.language;
      await applyPreferences();
      if (languageChanged) {
        app.flash = t("profile.saved");
        await chooseLanguage(app.me.language);
        return app.render({focus: true});
      }
      say(target, t("profile.saved"));
    },
  });
  const email = form({
    label: t("profile.email_change"),
    fields: [
      field({name: "new_email", label: t("profile.new_email"), type: "email", required: true, autocomplete: "email"}),
      field({name: "password", label: t("password.current"), type: "password", required: true,
             autocomplete: "current-password"}),
    ],
    submit: t("profile.email_submit"),
    onSubmit: async (target) => {
      const body = values(target);
      const response = await post("/api/v1/me/email", body);
      if (!response.ok) return showErrors(target, response.data);
      target.reset();
      say(target, t("profile.email_sent", {email: body.new_email}));
    },
  });
  return {title: t("profile.title"), content: [
    h("h1", {}, t("profile.title")),
    flash ? h("p", {class: "notice", role: "status"}, flash) : null,
    h("section", {"aria-labelledby": "details-title", class: "panel"},
      h("h2", {id: "details-title"}, t("profile.details")), details),
    h("section", {"aria-labelledby": "email-title", class: "panel"},
      h("h2", {id: "email-title"}, t("profile.email_change")),
      h("p", {}, t("profile.email_now", {email: me.email})), email),
    h("section", {"aria-labelledby": "password-title", class: "panel"},
      h("h2", {id: "password-title"}, t("password.title")),
      h("p", {}, h("a", {href: "/password"}, t("profile.password_link")))),
  ]};
}
