//! Build script: with the `lwip` feature, compiles the lwIP adapter's C shim against Debian's
//! `liblwip-dev` and links `-llwip`. Without it, nothing is built and no C library is needed.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "lwip")]
    lwip::build();
}

#[cfg(feature = "lwip")]
mod lwip {
    /// Where lwIP's headers are: `LWIP_INCLUDE_DIR`, or Debian's location (`lwip.pc`).
    const DEFAULT_INCLUDE: &str = "/usr/include/lwip";

    #[allow(
        clippy::panic,
        reason = "a build script reports a failed build by panicking"
    )]
    pub fn build() {
        println!("cargo:rerun-if-changed=src/stack/lwip/shim.c");
        println!("cargo:rerun-if-env-changed=LWIP_INCLUDE_DIR");
        println!("cargo:rerun-if-env-changed=LWIP_LIB_DIR");
        let include = std::env::var("LWIP_INCLUDE_DIR").unwrap_or_else(|_| DEFAULT_INCLUDE.into());
        if !std::path::Path::new(&include).join("lwipopts.h").exists() {
            panic!(
                "the lwip feature needs lwIP's headers in {include} (apt-get install liblwip-dev, \
                 or set LWIP_INCLUDE_DIR)"
            );
        }
        cc::Build::new()
            .file("src/stack/lwip/shim.c")
            .include(&include)
            .warnings(true)
            .compile("tcpconf_lwip_shim");
        if let Ok(dir) = std::env::var("LWIP_LIB_DIR") {
            println!("cargo:rustc-link-search=native={dir}");
        }
        println!("cargo:rustc-link-lib=dylib=lwip");
    }
}
