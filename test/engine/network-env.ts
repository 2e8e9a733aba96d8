// Rung 3 (engine double): the variable that hands the module network's map to the child's preload.

/** JSON { host: "127.0.0.1:<port>" }; the preload deletes it before the module loads, so src/ never sees it. */
export const MODULE_NETWORK_ENV = "DOCKYARD_DOUBLE_MODULE_NETWORK";
