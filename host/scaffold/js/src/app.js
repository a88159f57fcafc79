// The component's entry: the plugin, exported by the SDK.
import { exportConnector } from "../sdk/aiod-plugin-sdk.js";
import { Records } from "./plugin.js";

export const { types, plugin } = exportConnector(new Records());
