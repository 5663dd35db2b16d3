public enum KatoServerPlaceholder {}
