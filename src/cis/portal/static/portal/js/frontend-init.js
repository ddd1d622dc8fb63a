// Starts the NHS.UK frontend's components (header menu, error summary focus, buttons).
import { initAll } from "../../nhsuk/nhsuk/nhsuk-frontend.min.js";

initAll();
