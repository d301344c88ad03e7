// The replay page's entry point, split as TodoMVC's vanilla-es6 example is: model.js owns the wasm models
// (every probability, decision, explanation, tally and row check is core's), replay.js the loaded rows, the
// cursor and the pacing, view.js the DOM, and controller.js wires them and computes what the view draws.
// lib/ holds the modules shared with the Node checks (CSV, bit patterns, confusion counts).
import { Controller } from "./controller.js";
import { Models, describe } from "./model.js";
import { View } from "./view.js";

const view = new View();
Models.load("model.bin")
  .then((models) => new Controller(models, view).start("replay.csv"))
  .catch((e) => view.status(`The page could not start: ${describe(e)}`, true));
