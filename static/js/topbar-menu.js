// The top bar's menu button: on screens too narrow for every link (below
// 1440 px, see .topbar[data-menu] in parley.css) the navigation, the
// notification settings, the profile and "Log out" fold behind it.

import { foldMenu } from "./fold-menu.js";

foldMenu(document.querySelector(".topbar"), document.getElementById("menu-toggle"), document.getElementById("topbar-menu"));
