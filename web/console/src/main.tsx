// Entry: reads the sign-in from the link or the tab, then mounts the app.
import { render } from "preact";
import { App } from "./app";
import { session } from "./session";
import "./style.css";

session.start();
const root = document.getElementById("app")!;
root.textContent = ""; // the "Loading…" line
render(<App />, root);
