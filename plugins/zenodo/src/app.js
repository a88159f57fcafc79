// The component's entry: the Zenodo plugin, exported by the SDK.
import { exportConnector } from "../../../sdk/js/aiod-plugin-sdk.js";
import { Zenodo } from "./plugin.js";

export const { types, plugin } = exportConnector(new Zenodo());
