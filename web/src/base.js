// Evaluated before Cesium (imported first): where Cesium finds its workers and assets, on this node.
window.CESIUM_BASE_URL = "/cesium/";
