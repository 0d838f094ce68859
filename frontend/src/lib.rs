#![recursion_limit = "512"]
//! The hydrate entry point of the console's WASM bundle, and nothing else.

/// Attaches the client-side console to the server-rendered page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(berth_app::App);
}
