//! The `zhongshu` server: the explicit list of modules, startup (migrations, the first
//! company and administrator, the built-in roles), demo data, the background dispatcher,
//! and the command-line operations. `main.rs` only parses arguments and calls these.

pub mod bootstrap;
pub mod demo;
pub mod run;

use web::Module;

/// Every module of the suite, in dependency order. This list is the only place modules
/// are registered.
pub fn modules() -> Vec<Module> {
    vec![
        web::platform_module(),
        party::module(),
        catalog::module(),
        finance::module(),
        stock::module(),
        purchase::module(),
        sales::module(),
        crm::module(),
        hr::module(),
    ]
}
