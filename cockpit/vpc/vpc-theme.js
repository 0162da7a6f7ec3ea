/* The shell's light or dark theme on this page, the way Cockpit 287's own pages follow it: the
 * class pf-theme-dark on <html> (PatternFly 4's dark variables hang on it).
 *
 * The choice is the shell's localStorage item "shell:style": "light", "dark", or "auto" (or none)
 * for the browser's prefers-color-scheme. The shell sets it when a person picks a style in its
 * menu; this page, in the shell's iframe of the same origin, hears that as a "storage" event. The
 * shell also tells its own window with a "cockpit-style" event ({detail: {style}}), which reaches a
 * page that is not in a frame too. Loaded first in <head>, before anything is drawn: no flash of
 * the other theme. */

"use strict";

(function () {
    const KEY = "shell:style";
    const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

    function storedStyle() {
        try {
            return window.localStorage.getItem(KEY);
        } catch (e) {
            return null; // storage refused (privacy settings): follow the browser
        }
    }

    function apply(style) {
        style = style || storedStyle() || "auto";
        const dark = style === "dark" || (style === "auto" && !!darkQuery && darkQuery.matches);
        document.documentElement.classList.toggle("pf-theme-dark", dark);
    }

    window.addEventListener("storage", ev => {
        if (ev.key === KEY || ev.key === null)  // null: the whole storage was cleared
            apply();
    });
    window.addEventListener("cockpit-style", ev => apply(ev.detail && ev.detail.style));
    if (darkQuery)
        darkQuery.addEventListener("change", () => apply());
    apply();
}());
